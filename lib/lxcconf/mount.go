package lxcconf

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// MountEntry is one lxc.mount.entry, or one line of an lxc.mount.fstab
// file: fstab(5) fields. Target is relative to the container's root
// (LXC also accepts an absolute target under the rootfs path).
type MountEntry struct {
	Source, Target, FSType string
	Options                []string // the comma-separated options, empty items dropped
	Dump, Pass             int
}

// ParseMountEntry reads one fstab line as getmntent(3) does: fields
// separated by spaces and tabs; \040, \011, \012, \134 and \\ decoded in
// source and target. Options, dump and pass may be left out. Unlike glibc,
// which silently reads them as something else, fewer than three fields,
// more than six, or a non-numeric dump or pass are refused.
func ParseMountEntry(line string) (MountEntry, error) {
	f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) < 3 || len(f) > 6 {
		return MountEntry{}, badValue("mount entry %q: want SOURCE TARGET FSTYPE [OPTIONS [DUMP [PASS]]]", line)
	}
	m := MountEntry{Source: unescapeMount(f[0]), Target: unescapeMount(f[1]), FSType: f[2]}
	if len(f) > 3 {
		m.Options = splitList(f[3], ",")
	}
	for i, dst := range []*int{&m.Dump, &m.Pass} {
		if len(f) <= 4+i {
			break
		}
		n, err := strconv.Atoi(f[4+i])
		if err != nil {
			return MountEntry{}, badValue("mount entry %q: dump and pass must be numbers", line)
		}
		*dst = n
	}
	return m, nil
}

// unescapeMount decodes the octal escapes glibc's getmntent decodes.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			if c, n := mountEscape(s[i+1:]); n > 0 {
				b.WriteByte(c)
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountEscape returns the byte an escape after a backslash stands for and
// the length of the escape, or 0 when it is not one.
func mountEscape(s string) (byte, int) {
	for _, e := range [...]struct {
		code string
		c    byte
	}{{"040", ' '}, {"011", '\t'}, {"012", '\n'}, {"134", '\\'}, {`\`, '\\'}} {
		if strings.HasPrefix(s, e.code) {
			return e.c, len(e.code)
		}
	}
	return 0, 0
}

// splitList splits s at any byte of seps and drops empty items, as LXC's
// lxc_iterate_parts (strtok) does.
func splitList(s, seps string) []string {
	out := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// ReadFstab reads an lxc.mount.fstab file: one entry a line, blank lines
// and lines starting with '#' skipped. name is used in errors.
func ReadFstab(r io.Reader, name string) ([]MountEntry, error) {
	var out []MountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		m, err := ParseMountEntry(line)
		if err != nil {
			return nil, printf.Errorf("%s:%d: %w", name, n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

// MountOpts is a mount entry's option list sorted into what mount(2) and
// the launcher need.
type MountOpts struct {
	Flags       uintptr // MS_* flags for mount(2), set and cleared in option order
	Propagation uintptr // MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE (| MS_REC), for a second mount(2)
	Data        string  // the other options, comma-joined in order: filesystem data
	Create      string  // "dir" (create=dir, wins as in LXC), "file" (create=file) or ""
	Optional    bool    // optional: a failing mount is skipped
	Relative    bool    // relative: Source is relative to the container's rootfs
	OriginMkdir bool    // origin=mkdir (Pantavisor): create Source as a directory first
	IDMap       string  // idmap=<path|container>: idmapped mount, not supported by the launcher
}

// Opts sorts the entry's options; see ParseOptions.
func (m MountEntry) Opts() MountOpts { return ParseOptions(m.Options) }

// mountOpt is one option name that sets (or, with clear, clears) flags.
type mountOpt struct {
	name  string
	clear bool
	flag  uintptr
}

// mountOpts is LXC's mount_opt table, sorted by name.
var mountOpts = [...]mountOpt{
	{"async", true, unix.MS_SYNCHRONOUS},
	{"atime", true, unix.MS_NOATIME},
	{"bind", false, unix.MS_BIND},
	{"defaults", false, 0},
	{"dev", true, unix.MS_NODEV},
	{"diratime", true, unix.MS_NODIRATIME},
	{"dirsync", false, unix.MS_DIRSYNC},
	{"exec", true, unix.MS_NOEXEC},
	{"lazytime", false, unix.MS_LAZYTIME},
	{"mand", false, unix.MS_MANDLOCK},
	{"noatime", false, unix.MS_NOATIME},
	{"nodev", false, unix.MS_NODEV},
	{"nodiratime", false, unix.MS_NODIRATIME},
	{"noexec", false, unix.MS_NOEXEC},
	{"nomand", true, unix.MS_MANDLOCK},
	{"norelatime", true, unix.MS_RELATIME},
	{"nostrictatime", true, unix.MS_STRICTATIME},
	{"nosuid", false, unix.MS_NOSUID},
	{"rbind", false, unix.MS_BIND | unix.MS_REC},
	{"relatime", false, unix.MS_RELATIME},
	{"remount", false, unix.MS_REMOUNT},
	{"ro", false, unix.MS_RDONLY},
	{"rw", true, unix.MS_RDONLY},
	{"strictatime", false, unix.MS_STRICTATIME},
	{"suid", true, unix.MS_NOSUID},
	{"sync", false, unix.MS_SYNCHRONOUS},
}

// propOpts is LXC's propagation_opt table, sorted by name.
var propOpts = [...]mountOpt{
	{"private", false, unix.MS_PRIVATE},
	{"rprivate", false, unix.MS_PRIVATE | unix.MS_REC},
	{"rshared", false, unix.MS_SHARED | unix.MS_REC},
	{"rslave", false, unix.MS_SLAVE | unix.MS_REC},
	{"runbindable", false, unix.MS_UNBINDABLE | unix.MS_REC},
	{"shared", false, unix.MS_SHARED},
	{"slave", false, unix.MS_SLAVE},
	{"unbindable", false, unix.MS_UNBINDABLE},
}

// findOpt looks name up in a sorted option table.
func findOpt(table []mountOpt, name string) (mountOpt, bool) {
	i := search(len(table), func(i int) string { return table[i].name }, name)
	if i < 0 {
		return mountOpt{}, false
	}
	return table[i], true
}

// ParseOptions sorts mount options as LXC does: its own options
// (create=dir, create=file, optional, relative, idmap=, and Pantavisor's
// origin=mkdir) are taken out; names of mount_opt set or clear MS_* flags;
// propagation names go to Propagation; everything else, and every option
// holding '=', is filesystem data. Matching is exact (LXC's own-option
// check matches substrings, so "nooptional" would count as optional there).
func ParseOptions(opts []string) MountOpts {
	var m MountOpts
	var data []string
	for _, o := range opts {
		if m.lxcOption(o) {
			continue
		}
		if !strings.Contains(o, "=") {
			if e, ok := findOpt(mountOpts[:], o); ok {
				if e.clear {
					m.Flags &^= e.flag
				} else {
					m.Flags |= e.flag
				}
				continue
			}
			if e, ok := findOpt(propOpts[:], o); ok {
				m.Propagation |= e.flag
				continue
			}
		}
		if o != "" {
			data = append(data, o)
		}
	}
	m.Data = strings.Join(data, ",")
	return m
}

// lxcOption takes an LXC-specific option into m and reports whether o was one.
func (m *MountOpts) lxcOption(o string) bool {
	switch o {
	case "create=dir":
		m.Create = "dir"
	case "create=file":
		if m.Create == "" {
			m.Create = "file"
		}
	case "optional":
		m.Optional = true
	case "relative":
		m.Relative = true
	case "origin=mkdir":
		m.OriginMkdir = true
	default:
		v, ok := strings.CutPrefix(o, "idmap=")
		if ok {
			m.IDMap = v
		}
		return ok
	}
	return true
}
