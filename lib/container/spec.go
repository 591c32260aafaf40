package container

import (
	"strconv"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Spec is everything the in-namespace stage needs, resolved by the parent:
// no config parsing happens inside the container's namespaces. It crosses
// the re-exec as JSON on the stage's spec fd.
type Spec struct {
	Name     string
	Root     string   // host directory where the stage assembles the rootfs
	Lower    []string // overlay lower dirs, top first; one entry and no Upper = bind it
	Upper    string   // overlay upper dir ("" = read-only bind of Lower[0])
	Work     string   // overlay work dir
	Mounts   []Mount  // in order, after the rootfs is mounted
	Autodev  bool     // build a minimal /dev
	Hostname string   // "" leaves the UTS name alone
	Caps     []int    // capabilities kept in the bounding set
	UID, GID int
	// NoNewPrivs sets PR_SET_NO_NEW_PRIVS before the exec (lxc.no_new_privs):
	// setuid bits and file capabilities no longer raise the init's privileges.
	NoNewPrivs bool
	Env        []string
	Cwd        string
	Args       []string // init argv; Args[0] is looked up in the rootfs PATH if relative
	Console    string   // the pty slave given as the stage's stdin (set by Start); "" = none
	// Net are the interfaces the stage configures inside the container's
	// network namespace, where Options.Network put them before the stage
	// was released. Non-empty also brings lo up.
	Net []NetIface
}

// NetIface is one network interface of the container, as the stage sets
// it up before the exec: rename TempName to Name, set the MAC, add the
// address, bring it up, and route by default via Gateway.
type NetIface struct {
	TempName string // its name as created in the namespace (e.g. rtnl.Veth.PeerName)
	Name     string // its final name ("eth0"); "" or TempName = no rename
	MAC      string // "02:00:0a:00:00:02"; "" keeps the kernel's
	Addr     string // address and prefix length, "10.0.3.2/24"; "" = none
	Gateway  string // default route via this address; "" = none; at most one interface has one
}

// Mount is one mount inside the container. Target is relative to the
// container root and resolved without leaving it; Source is a host path
// (or a pseudo source like "proc").
type Mount struct {
	Source, Target, FSType string
	Flags                  uintptr
	Data                   string
	Create                 string // "dir", "file" or "" (target must exist)
	Optional               bool   // failures are ignored
}

// encode writes s as JSON (read back by decodeSpec).
func (s *Spec) encode() []byte {
	b := []byte(`{"name":`)
	b = rawjson.AppendString(b, s.Name)
	b = appendField(b, "root", s.Root)
	b = append(b, `,"lower":`...)
	b = appendStrings(b, s.Lower)
	b = appendField(b, "upper", s.Upper)
	b = appendField(b, "work", s.Work)
	b = append(b, `,"mounts":[`...)
	for i, m := range s.Mounts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"source":`...)
		b = rawjson.AppendString(b, m.Source)
		b = appendField(b, "target", m.Target)
		b = appendField(b, "fstype", m.FSType)
		b = appendField(b, "flags", strconv.FormatUint(uint64(m.Flags), 10))
		b = appendField(b, "data", m.Data)
		b = appendField(b, "create", m.Create)
		b = appendField(b, "optional", strconv.FormatBool(m.Optional))
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendField(b, "autodev", strconv.FormatBool(s.Autodev))
	b = appendField(b, "hostname", s.Hostname)
	b = append(b, `,"caps":[`...)
	for i, c := range s.Caps {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(c), 10)
	}
	b = append(b, ']')
	b = appendField(b, "uid", strconv.Itoa(s.UID))
	b = appendField(b, "gid", strconv.Itoa(s.GID))
	b = appendField(b, "nonewprivs", strconv.FormatBool(s.NoNewPrivs))
	b = append(b, `,"env":`...)
	b = appendStrings(b, s.Env)
	b = appendField(b, "cwd", s.Cwd)
	b = append(b, `,"args":`...)
	b = appendStrings(b, s.Args)
	b = appendField(b, "console", s.Console)
	b = append(b, `,"net":[`...)
	for i, n := range s.Net {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"tempname":`...)
		b = rawjson.AppendString(b, n.TempName)
		b = appendField(b, "name", n.Name)
		b = appendField(b, "mac", n.MAC)
		b = appendField(b, "addr", n.Addr)
		b = appendField(b, "gateway", n.Gateway)
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

func appendField(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return rawjson.AppendString(b, value)
}

func appendStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = rawjson.AppendString(b, s)
	}
	return append(b, ']')
}

// decodeSpec parses what encode wrote. Every value is a string or a list
// (numbers and booleans travel as strings), so decoding stays trivial.
func decodeSpec(data []byte) (*Spec, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return nil, printf.Errorf("stage spec: %w", err)
	}
	d := decoder{v: v}
	s := &Spec{
		Name: d.str("name"), Root: d.str("root"), Lower: d.strs("lower"), Upper: d.str("upper"),
		Work: d.str("work"), Autodev: d.bool("autodev"), Hostname: d.str("hostname"),
		UID: d.int("uid"), GID: d.int("gid"), NoNewPrivs: d.bool("nonewprivs"), Env: d.strs("env"), Cwd: d.str("cwd"), Args: d.strs("args"),
		Console: d.str("console"),
	}
	caps, _ := v.Get("caps")
	for _, c := range caps.Items {
		n, err := c.Int()
		if err != nil {
			return nil, printf.Errorf("stage spec: caps: %w", err)
		}
		s.Caps = append(s.Caps, int(n))
	}
	mounts, _ := v.Get("mounts")
	for _, mv := range mounts.Items {
		md := decoder{v: mv}
		s.Mounts = append(s.Mounts, Mount{Source: md.str("source"), Target: md.str("target"),
			FSType: md.str("fstype"), Flags: uintptr(md.int("flags")), Data: md.str("data"),
			Create: md.str("create"), Optional: md.bool("optional")})
		if md.err != nil {
			return nil, md.err
		}
	}
	nets, _ := v.Get("net")
	for _, nv := range nets.Items {
		nd := decoder{v: nv}
		s.Net = append(s.Net, NetIface{TempName: nd.str("tempname"), Name: nd.str("name"),
			MAC: nd.str("mac"), Addr: nd.str("addr"), Gateway: nd.str("gateway")})
	}
	return s, d.err
}

type decoder struct {
	v   rawjson.Value
	err error
}

func (d *decoder) str(k string) string {
	m, _ := d.v.Get(k)
	return m.Str
}

func (d *decoder) strs(k string) []string {
	m, _ := d.v.Get(k)
	var out []string
	for _, it := range m.Items {
		out = append(out, it.Str)
	}
	return out
}

func (d *decoder) int(k string) int {
	n, err := strconv.ParseInt(d.str(k), 10, 64)
	if err != nil && d.err == nil {
		d.err = printf.Errorf("stage spec: %s: %w", k, err)
	}
	return int(n)
}

func (d *decoder) bool(k string) bool { return d.str(k) == "true" }
