package meta

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Device-meta keys Pantavisor publishes. System computes the first group;
// the engine and the Hub client set the others.
const (
	KeyArch       = "pantavisor.arch"
	KeyVersion    = "pantavisor.version"
	KeyDTModel    = "pantavisor.dtmodel"
	KeyCPUModel   = "pantavisor.cpumodel"
	KeyUname      = "pantavisor.uname"
	KeySysinfo    = "sysinfo"
	KeyStorage    = "storage"
	KeyTime       = "time"
	KeyInterfaces = "interfaces"

	KeyStatus     = "pantavisor.status"
	KeyRevision   = "pantavisor.revision"
	KeyMode       = "pantavisor.mode"
	KeyClaimed    = "pantavisor.claimed"
	KeyHubOnline  = "pantahub.online"
	KeyHubClaimed = "pantahub.claimed"
	KeyHubState   = "pantahub.state"
	KeyHubAddress = "pantahub.address"
)

// SystemKeys returns the keys System computes, in the order Collect
// publishes them.
func SystemKeys() []string {
	return []string{KeyArch, KeyVersion, KeyDTModel, KeyCPUModel, KeyUname,
		KeySysinfo, KeyStorage, KeyTime, KeyInterfaces}
}

// Timezone is the kernel's timezone as gettimeofday(2) reports it.
type Timezone struct {
	MinutesWest, DSTTime int32
}

// Interface is one network interface with its addresses, as text.
type Interface struct {
	Name       string
	MAC        string   // "" when it has none
	IPv4, IPv6 []string // link-local IPv6 addresses end in %<name>
}

// System reads the device facts Pantavisor publishes. Each field reaches
// the system and can be replaced by tests; the zero value reads the real
// system.
type System struct {
	Proc     string // /proc
	Storage  string // the storage mount point statfs measures; /storage
	Reserved int    // percent of the storage kept free (PV_STORAGE_GC_RESERVED); 0 means 5
	Version  string // pantavisor.version; "" means buildinfo.Version
	GOARCH   string // "" means runtime.GOARCH

	Uname        func(*unix.Utsname) error
	Sysinfo      func(*unix.Sysinfo_t) error
	Statfs       func(path string, st *unix.Statfs_t) error
	Gettimeofday func() (unix.Timeval, Timezone, error)
	Interfaces   func() ([]Interface, error)
}

// Collect computes keys (all of SystemKeys when none are given) in the
// given order. A key that cannot be computed is left out and named in the
// joined error; pantavisor.dtmodel and pantavisor.cpumodel are "" when the
// system does not tell (as upstream).
func (sys *System) Collect(keys ...string) ([]Entry, error) {
	if len(keys) == 0 {
		keys = SystemKeys()
	}
	out := make([]Entry, 0, len(keys))
	var errs []error
	for _, k := range keys {
		v, err := sys.value(k)
		if err != nil {
			errs = append(errs, printf.Errorf("device-meta %s: %w", k, err))
			continue
		}
		out = append(out, Entry{Key: k, Value: v})
	}
	return out, errors.Join(errs...)
}

func (sys *System) value(key string) (string, error) {
	switch key {
	case KeyArch:
		goarch := sys.GOARCH
		if goarch == "" {
			goarch = runtime.GOARCH
		}
		return Arch(goarch), nil
	case KeyVersion:
		if sys.Version == "" {
			return buildinfo.Version, nil
		}
		return sys.Version, nil
	case KeyDTModel:
		return sys.dtModel(), nil
	case KeyCPUModel:
		return sys.cpuModel(), nil
	case KeyUname:
		return sys.uname()
	case KeySysinfo:
		return sys.sysinfo()
	case KeyStorage:
		return sys.storage()
	case KeyTime:
		return sys.time()
	case KeyInterfaces:
		return sys.interfaces()
	}
	return "", errors.New("not a system key")
}

// Arch formats pantavisor.arch, "<arch>/<bits>/EL|EB", for a Go GOARCH
// with upstream's architecture names: x86_64, aarch64, arm, mips (every
// MIPS flavour) and "unknown" for the rest, which upstream does not name
// either. Bits are the pointer size.
func Arch(goarch string) string {
	name, bits, big := "unknown", "64", false
	switch goarch {
	case "amd64":
		name = "x86_64"
	case "arm64":
		name = "aarch64"
	case "arm":
		name, bits = "arm", "32"
	case "mips", "mipsle":
		name, bits, big = "mips", "32", goarch == "mips"
	case "mips64", "mips64le":
		name, big = "mips", goarch == "mips64"
	case "386", "amd64p32", "armbe", "ppc", "riscv", "wasm":
		bits = "32"
	case "ppc64", "s390x", "sparc64":
		big = true
	}
	if big {
		return name + "/" + bits + "/EB"
	}
	return name + "/" + bits + "/EL"
}

func (sys *System) proc(name string) string {
	p := sys.Proc
	if p == "" {
		p = "/proc"
	}
	return filepath.Join(p, name)
}

// dtModel reads /proc/device-tree/model: "" when absent.
func (sys *System) dtModel() string {
	f, err := os.Open(sys.proc("device-tree/model"))
	if err != nil {
		return ""
	}
	defer f.Close()
	m, _ := ParseDTModel(f)
	return m
}

// ParseDTModel reads a device-tree model property: text up to the first
// NUL, at most 4 KiB, without surrounding space.
func ParseDTModel(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if err != nil {
		return "", printf.Errorf("reading device-tree model: %w", err)
	}
	return string(bytes.TrimSpace(b)), nil
}

// cpuModel reads /proc/cpuinfo: "" when absent or silent.
func (sys *System) cpuModel() string {
	f, err := os.Open(sys.proc("cpuinfo"))
	if err != nil {
		return ""
	}
	defer f.Close()
	m, _ := ParseCPUModel(f)
	return m
}

// ParseCPUModel finds the CPU model in /proc/cpuinfo text: the first
// "model name" (x86, 32-bit ARM), else "Hardware" (older ARM kernels),
// else "Model" (Raspberry Pi), else "". Names are matched exactly, before
// the colon and without the surrounding spaces and tabs.
func ParseCPUModel(r io.Reader) (string, error) {
	var hardware, model string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(name) {
		case "model name":
			return value, nil
		case "Hardware":
			if hardware == "" {
				hardware = value
			}
		case "Model":
			if model == "" {
				model = value
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", printf.Errorf("reading cpuinfo: %w", err)
	}
	if hardware != "" {
		return hardware, nil
	}
	return model, nil
}

// uname formats pantavisor.uname:
// {"kernel.name":…,"kernel.release":…,"kernel.version":…,"node.name":…,"machine":…}.
func (sys *System) uname() (string, error) {
	f := sys.Uname
	if f == nil {
		f = unix.Uname
	}
	var u unix.Utsname
	if err := f(&u); err != nil {
		return "", printf.Errorf("uname: %w", err)
	}
	var o object
	o.str("kernel.name", unix.ByteSliceToString(u.Sysname[:]))
	o.str("kernel.release", unix.ByteSliceToString(u.Release[:]))
	o.str("kernel.version", unix.ByteSliceToString(u.Version[:]))
	o.str("node.name", unix.ByteSliceToString(u.Nodename[:]))
	o.str("machine", unix.ByteSliceToString(u.Machine[:]))
	return o.done(), nil
}

// sysinfo formats sysinfo(2) with upstream's names, the raw numbers
// (loads in 1/65536, memory in mem_unit):
// {"uptime","loads.0","loads.1","loads.2","totalram","freeram","sharedram",
// "bufferram","totalswap","freeswap","procs","totalhigh","freehigh","mem_unit"}.
func (sys *System) sysinfo() (string, error) {
	f := sys.Sysinfo
	if f == nil {
		f = unix.Sysinfo
	}
	var si unix.Sysinfo_t
	if err := f(&si); err != nil {
		return "", printf.Errorf("sysinfo: %w", err)
	}
	var o object
	o.int("uptime", int64(si.Uptime))
	for i, l := range si.Loads {
		o.uint("loads."+strconv.Itoa(i), uint64(l))
	}
	o.uint("totalram", uint64(si.Totalram))
	o.uint("freeram", uint64(si.Freeram))
	o.uint("sharedram", uint64(si.Sharedram))
	o.uint("bufferram", uint64(si.Bufferram))
	o.uint("totalswap", uint64(si.Totalswap))
	o.uint("freeswap", uint64(si.Freeswap))
	o.uint("procs", uint64(si.Procs))
	o.uint("totalhigh", uint64(si.Totalhigh))
	o.uint("freehigh", uint64(si.Freehigh))
	o.uint("mem_unit", uint64(si.Unit))
	return o.done(), nil
}

// storage formats the storage space in bytes as upstream measures it:
// total = f_bsize*f_blocks, free = f_bsize*f_bfree, reserved =
// total*Reserved/100, real_free = free-reserved (0 when below):
// {"total","free","reserved","real_free"}.
func (sys *System) storage() (string, error) {
	f := sys.Statfs
	if f == nil {
		f = unix.Statfs
	}
	path := sys.Storage
	if path == "" {
		path = "/storage"
	}
	pct := sys.Reserved
	if pct == 0 {
		pct = 5
	}
	var st unix.Statfs_t
	if err := f(path, &st); err != nil {
		return "", printf.Errorf("statfs %s: %w", path, err)
	}
	bsize := uint64(st.Bsize)
	total, free := bsize*uint64(st.Blocks), bsize*uint64(st.Bfree)
	reserved := total * uint64(pct) / 100
	var real uint64
	if free > reserved {
		real = free - reserved
	}
	var o object
	o.uint("total", total)
	o.uint("free", free)
	o.uint("reserved", reserved)
	o.uint("real_free", real)
	return o.done(), nil
}

// time formats gettimeofday(2):
// {"timeval":{"tv_sec","tv_usec"},"timezone":{"tz_minuteswest","tz_dsttime"}}.
func (sys *System) time() (string, error) {
	f := sys.Gettimeofday
	if f == nil {
		f = gettimeofday
	}
	tv, tz, err := f()
	if err != nil {
		return "", printf.Errorf("gettimeofday: %w", err)
	}
	var in object
	in.int("tv_sec", int64(tv.Sec))
	in.int("tv_usec", int64(tv.Usec))
	var zone object
	zone.int("tz_minuteswest", int64(tz.MinutesWest))
	zone.int("tz_dsttime", int64(tz.DSTTime))
	var o object
	o.raw("timeval", in.done())
	o.raw("timezone", zone.done())
	return o.done(), nil
}

// interfaces formats the network interfaces sorted by name, each as
// "<if>.ipv4", "<if>.ipv6" and "<if>.mac" arrays, left out when empty:
// {"eth0.ipv4":["10.0.2.15"],"eth0.ipv6":["fe80::1%eth0"],"eth0.mac":["52:54:00:12:34:56"]}.
func (sys *System) interfaces() (string, error) {
	f := sys.Interfaces
	if f == nil {
		f = readInterfaces
	}
	ifs, err := f()
	if err != nil {
		return "", printf.Errorf("listing network interfaces: %w", err)
	}
	insertionSort(len(ifs), func(i int) bool { return ifs[i].Name < ifs[i-1].Name }, func(i int) { ifs[i], ifs[i-1] = ifs[i-1], ifs[i] })
	var o object
	for _, it := range ifs {
		o.strs(it.Name+".ipv4", it.IPv4)
		o.strs(it.Name+".ipv6", it.IPv6)
		if it.MAC != "" {
			o.strs(it.Name+".mac", []string{it.MAC})
		}
	}
	return o.done(), nil
}

// object writes one JSON object member by member, in call order.
type object struct{ b []byte }

func (o *object) key(k string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = rawjson.AppendString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *object) str(k, v string)         { o.key(k); o.b = rawjson.AppendString(o.b, v) }
func (o *object) int(k string, n int64)   { o.key(k); o.b = rawjson.AppendInt(o.b, n) }
func (o *object) uint(k string, n uint64) { o.key(k); o.b = strconv.AppendUint(o.b, n, 10) }
func (o *object) raw(k, v string)         { o.key(k); o.b = append(o.b, v...) }

// strs writes a string array member, nothing when vs is empty.
func (o *object) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.key(k)
	for i, v := range vs {
		if i == 0 {
			o.b = append(o.b, '[')
		} else {
			o.b = append(o.b, ',')
		}
		o.b = rawjson.AppendString(o.b, v)
	}
	o.b = append(o.b, ']')
}

func (o *object) done() string {
	if len(o.b) == 0 {
		return "{}"
	}
	return string(append(o.b, '}'))
}
