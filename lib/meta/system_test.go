package meta

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/rawjson"
)

func TestArch(t *testing.T) {
	for _, c := range []struct{ goarch, want string }{
		{"amd64", "x86_64/64/EL"},
		{"arm64", "aarch64/64/EL"},
		{"arm", "arm/32/EL"},
		{"mips", "mips/32/EB"},
		{"mipsle", "mips/32/EL"},
		{"mips64", "mips/64/EB"},
		{"mips64le", "mips/64/EL"},
		{"386", "unknown/32/EL"},
		{"riscv64", "unknown/64/EL"},
		{"ppc64", "unknown/64/EB"},
		{"ppc64le", "unknown/64/EL"},
		{"s390x", "unknown/64/EB"},
		{"loong64", "unknown/64/EL"},
		{"", "unknown/64/EL"},
	} {
		assert.Equal(t, c.want, Arch(c.goarch), c.goarch)
	}
}

func TestParseCPUModel(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"cpuinfo-x86_64", "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"},
		{"cpuinfo-armv7-rpi", "ARMv7 Processor rev 4 (v7l)"},
		{"cpuinfo-arm64-hardware", "NXP i.MX8MNano DDR4 EVK board"},
		{"cpuinfo-arm64-rpi", "Raspberry Pi 4 Model B Rev 1.1"},
		{"cpuinfo-arm64-qemu", ""},
	} {
		f, err := os.Open(filepath.Join("testdata", c.file))
		require.NoError(t, err)
		got, err := ParseCPUModel(f)
		f.Close()
		require.NoError(t, err, c.file)
		assert.Equal(t, c.want, got, c.file)
	}
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"model name:x\n", "x"},
		{"Model\t: m\nHardware\t: h\n", "h"},
		{"Hardware : h1\nHardware : h2\n", "h1"},
		{"model  name : no\nmodelname: no\n", ""},
		{"model name\t:\n", ""},
		{"no colon here\nmodel name : a:b\n", "a:b"},
	} {
		got, err := ParseCPUModel(strings.NewReader(c.in))
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, got, "%q", c.in)
	}
	cause := errors.New("disk on fire")
	_, err := ParseCPUModel(iotest.ErrReader(cause))
	assert.ErrorIs(t, err, cause)
}

func TestParseDTModel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Raspberry Pi 4 Model B Rev 1.1\x00", "Raspberry Pi 4 Model B Rev 1.1"},
		{"Toradex Verdin iMX8M Mini\x00junk", "Toradex Verdin iMX8M Mini"},
		{"  no nul\n", "no nul"},
		{"", ""},
	} {
		got, err := ParseDTModel(strings.NewReader(c.in))
		require.NoError(t, err)
		assert.Equal(t, c.want, got, "%q", c.in)
	}
	_, err := ParseDTModel(iotest.ErrReader(errors.New("eio")))
	assert.ErrorContains(t, err, "reading device-tree model: eio")
}

func FuzzParseCPUModel(f *testing.F) {
	for _, n := range []string{"cpuinfo-x86_64", "cpuinfo-armv7-rpi", "cpuinfo-arm64-rpi"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseCPUModel(strings.NewReader(string(b)))
		if err == nil && strings.ContainsAny(m, "\n") {
			t.Fatalf("model %q spans lines", m)
		}
	})
}

// utsField copies s into a utsname field.
func utsField(dst *[65]byte, s string) { copy(dst[:], s) }

// fakeSystem is a System whose every seam is deterministic.
func fakeSystem(t *testing.T, cpuinfo, dtmodel string) *System {
	proc := t.TempDir()
	if cpuinfo != "" {
		b, err := os.ReadFile(filepath.Join("testdata", cpuinfo))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(proc, "cpuinfo"), b, 0o644))
	}
	if dtmodel != "" {
		require.NoError(t, os.MkdirAll(filepath.Join(proc, "device-tree"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(proc, "device-tree", "model"), []byte(dtmodel), 0o644))
	}
	return &System{
		Proc:     proc,
		Storage:  "/fake/storage",
		Reserved: 10,
		Version:  "019-go-test",
		GOARCH:   "arm64",
		Uname: func(u *unix.Utsname) error {
			utsField(&u.Sysname, "Linux")
			utsField(&u.Release, "6.1.0-18-arm64")
			utsField(&u.Version, `#1 SMP Debian 6.1.76-1 "quoted"`)
			utsField(&u.Nodename, "pv-device")
			utsField(&u.Machine, "aarch64")
			return nil
		},
		Sysinfo: func(si *unix.Sysinfo_t) error {
			si.Uptime = 3600
			si.Loads[0], si.Loads[1], si.Loads[2] = 65536, 32768, 0
			si.Totalram = 2 << 30 // fits 32-bit arm's uint32
			si.Freeram = 1 << 30
			si.Sharedram = 1024
			si.Bufferram = 2048
			si.Totalswap = 0
			si.Freeswap = 0
			si.Procs = 123
			si.Totalhigh = 0
			si.Freehigh = 0
			si.Unit = 1
			return nil
		},
		Statfs: func(path string, st *unix.Statfs_t) error {
			if path != "/fake/storage" {
				return unix.ENOENT
			}
			st.Bsize = 4096
			st.Blocks = 1000
			st.Bfree = 300
			st.Bavail = 250
			return nil
		},
		Gettimeofday: func() (unix.Timeval, Timezone, error) {
			return unix.Timeval{Sec: 1700000000, Usec: 123456}, Timezone{MinutesWest: -60, DSTTime: 0}, nil
		},
		Interfaces: func() ([]Interface, error) {
			return []Interface{
				{Name: "lo", IPv4: []string{"127.0.0.1"}, IPv6: []string{"::1"}},
				{Name: "eth0", MAC: "52:54:00:12:34:56", IPv4: []string{"10.0.2.15", "10.0.2.16"},
					IPv6: []string{"fec0::5054:ff:fe12:3456", "fe80::5054:ff:fe12:3456%eth0"}},
				{Name: "wlan0", MAC: "b8:27:eb:00:00:01"},
				{Name: "eth0:1", IPv4: []string{"192.168.7.2"}},
			}, nil
		},
	}
}

func TestCollect(t *testing.T) {
	sys := fakeSystem(t, "cpuinfo-arm64-rpi", "Raspberry Pi 4 Model B Rev 1.1\x00")
	got, err := sys.Collect()
	require.NoError(t, err)
	want := []Entry{
		{KeyArch, "aarch64/64/EL"},
		{KeyVersion, "019-go-test"},
		{KeyDTModel, "Raspberry Pi 4 Model B Rev 1.1"},
		{KeyCPUModel, "Raspberry Pi 4 Model B Rev 1.1"},
		{KeyUname, `{"kernel.name":"Linux","kernel.release":"6.1.0-18-arm64",` +
			`"kernel.version":"#1 SMP Debian 6.1.76-1 \"quoted\"","node.name":"pv-device","machine":"aarch64"}`},
		{KeySysinfo, `{"uptime":3600,"loads.0":65536,"loads.1":32768,"loads.2":0,"totalram":2147483648,` +
			`"freeram":1073741824,"sharedram":1024,"bufferram":2048,"totalswap":0,"freeswap":0,"procs":123,` +
			`"totalhigh":0,"freehigh":0,"mem_unit":1}`},
		{KeyStorage, `{"total":4096000,"free":1228800,"reserved":409600,"real_free":819200}`},
		{KeyTime, `{"timeval":{"tv_sec":1700000000,"tv_usec":123456},"timezone":{"tz_minuteswest":-60,"tz_dsttime":0}}`},
		{KeyInterfaces, `{"eth0.ipv4":["10.0.2.15","10.0.2.16"],` +
			`"eth0.ipv6":["fec0::5054:ff:fe12:3456","fe80::5054:ff:fe12:3456%eth0"],` +
			`"eth0.mac":["52:54:00:12:34:56"],"eth0:1.ipv4":["192.168.7.2"],` +
			`"lo.ipv4":["127.0.0.1"],"lo.ipv6":["::1"],"wlan0.mac":["b8:27:eb:00:00:01"]}`},
	}
	assert.Equal(t, want, got)

	// Every JSON value parses back with lib/rawjson, members in order.
	for _, e := range got[4:] {
		v, err := rawjson.Parse([]byte(e.Value))
		require.NoError(t, err, e.Key)
		assert.Equal(t, rawjson.Object, v.Kind, e.Key)
	}
	u, _ := rawjson.Parse([]byte(got[4].Value))
	var names []string
	for _, m := range u.Members {
		names = append(names, m.Key)
	}
	assert.Equal(t, []string{"kernel.name", "kernel.release", "kernel.version", "node.name", "machine"}, names)
	ver, _ := u.Get("kernel.version")
	assert.Equal(t, `#1 SMP Debian 6.1.76-1 "quoted"`, ver.Str)
	tm, _ := rawjson.Parse([]byte(got[7].Value))
	tv, _ := tm.Get("timeval")
	sec, _ := tv.Get("tv_sec")
	n, err := sec.Int()
	require.NoError(t, err)
	assert.Equal(t, int64(1700000000), n)
	ifs, _ := rawjson.Parse([]byte(got[8].Value))
	v6, _ := ifs.Get("eth0.ipv6")
	require.Len(t, v6.Items, 2)
	assert.Equal(t, "fe80::5054:ff:fe12:3456%eth0", v6.Items[1].Str)

	// Published into a store, GET inlines the JSON values.
	f := newFixture(t)
	s := f.store(Device)
	s.Persist = ""
	require.NoError(t, s.Publish(got))
	js, err := s.JSON()
	require.NoError(t, err)
	all, err := rawjson.Parse(js)
	require.NoError(t, err)
	st, _ := all.Get(KeyStorage)
	assert.Equal(t, rawjson.Object, st.Kind)
	rf, _ := st.Get("real_free")
	assert.Equal(t, "819200", string(rf.Raw))
	arch, _ := all.Get(KeyArch)
	assert.Equal(t, "aarch64/64/EL", arch.Str)
}

func TestCollectX86AndMissing(t *testing.T) {
	sys := fakeSystem(t, "cpuinfo-x86_64", "")
	sys.GOARCH = "amd64"
	got, err := sys.Collect(KeyArch, KeyDTModel, KeyCPUModel)
	require.NoError(t, err)
	assert.Equal(t, []Entry{
		{KeyArch, "x86_64/64/EL"},
		{KeyDTModel, ""},
		{KeyCPUModel, "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"},
	}, got)

	sys = fakeSystem(t, "", "")
	got, err = sys.Collect(KeyCPUModel)
	require.NoError(t, err)
	assert.Equal(t, []Entry{{KeyCPUModel, ""}}, got)
}

func TestCollectDefaultsAndErrors(t *testing.T) {
	sys := fakeSystem(t, "cpuinfo-armv7-rpi", "")
	sys.Reserved = 0 // the default, 5 %
	sys.Storage = ""
	sys.Statfs = func(path string, st *unix.Statfs_t) error {
		assert.Equal(t, "/storage", path)
		st.Bsize, st.Blocks, st.Bfree = 1000, 100, 3
		return nil
	}
	got, err := sys.Collect(KeyStorage)
	require.NoError(t, err)
	assert.Equal(t, []Entry{{KeyStorage, `{"total":100000,"free":3000,"reserved":5000,"real_free":0}`}}, got)

	boom := errors.New("boom")
	sys.Uname = func(*unix.Utsname) error { return boom }
	sys.Sysinfo = func(*unix.Sysinfo_t) error { return boom }
	sys.Statfs = func(string, *unix.Statfs_t) error { return boom }
	sys.Gettimeofday = func() (unix.Timeval, Timezone, error) { return unix.Timeval{}, Timezone{}, boom }
	sys.Interfaces = func() ([]Interface, error) { return nil, boom }
	got, err = sys.Collect()
	assert.ErrorIs(t, err, boom)
	for _, k := range []string{KeyUname, KeySysinfo, KeyStorage, KeyTime, KeyInterfaces} {
		assert.ErrorContains(t, err, "device-meta "+k+": ")
	}
	assert.ErrorContains(t, err, "statfs /storage: boom")
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	assert.Equal(t, []string{KeyArch, KeyVersion, KeyDTModel, KeyCPUModel}, keys)

	_, err = sys.Collect("nope")
	assert.ErrorContains(t, err, "device-meta nope: not a system key")

	sys.Interfaces = func() ([]Interface, error) { return nil, nil }
	got, err = sys.Collect(KeyInterfaces)
	require.NoError(t, err)
	assert.Equal(t, []Entry{{KeyInterfaces, "{}"}}, got)

	sys.Version = ""
	got, err = sys.Collect(KeyVersion)
	require.NoError(t, err)
	assert.NotEmpty(t, got[0].Value, "buildinfo.Version")
}

func TestSystemKeys(t *testing.T) {
	k := SystemKeys()
	assert.Equal(t, []string{"pantavisor.arch", "pantavisor.version", "pantavisor.dtmodel", "pantavisor.cpumodel",
		"pantavisor.uname", "sysinfo", "storage", "time", "interfaces"}, k)
	k[0] = "changed"
	assert.Equal(t, KeyArch, SystemKeys()[0], "a fresh slice each call")
	for _, key := range append(SystemKeys(), KeyStatus, KeyRevision, KeyMode, KeyClaimed,
		KeyHubOnline, KeyHubClaimed, KeyHubState, KeyHubAddress) {
		assert.NoError(t, CheckKey(key))
	}
}
