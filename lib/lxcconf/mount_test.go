package lxcconf

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestParseOptionsEveryName(t *testing.T) {
	// Each option alone, from a zero flag set; clearing options are
	// checked after the flag they clear was set.
	for _, tc := range []struct {
		opt   string
		set   uintptr // flags the option sets
		clear uintptr // flags the option clears
		prop  uintptr
	}{
		{opt: "defaults"},
		{opt: "ro", set: unix.MS_RDONLY}, {opt: "rw", clear: unix.MS_RDONLY},
		{opt: "nosuid", set: unix.MS_NOSUID}, {opt: "suid", clear: unix.MS_NOSUID},
		{opt: "nodev", set: unix.MS_NODEV}, {opt: "dev", clear: unix.MS_NODEV},
		{opt: "noexec", set: unix.MS_NOEXEC}, {opt: "exec", clear: unix.MS_NOEXEC},
		{opt: "sync", set: unix.MS_SYNCHRONOUS}, {opt: "async", clear: unix.MS_SYNCHRONOUS},
		{opt: "dirsync", set: unix.MS_DIRSYNC}, {opt: "remount", set: unix.MS_REMOUNT},
		{opt: "mand", set: unix.MS_MANDLOCK}, {opt: "nomand", clear: unix.MS_MANDLOCK},
		{opt: "noatime", set: unix.MS_NOATIME}, {opt: "atime", clear: unix.MS_NOATIME},
		{opt: "nodiratime", set: unix.MS_NODIRATIME}, {opt: "diratime", clear: unix.MS_NODIRATIME},
		{opt: "bind", set: unix.MS_BIND}, {opt: "rbind", set: unix.MS_BIND | unix.MS_REC},
		{opt: "relatime", set: unix.MS_RELATIME}, {opt: "norelatime", clear: unix.MS_RELATIME},
		{opt: "strictatime", set: unix.MS_STRICTATIME}, {opt: "nostrictatime", clear: unix.MS_STRICTATIME},
		{opt: "lazytime", set: unix.MS_LAZYTIME},
		{opt: "private", prop: unix.MS_PRIVATE}, {opt: "rprivate", prop: unix.MS_PRIVATE | unix.MS_REC},
		{opt: "shared", prop: unix.MS_SHARED}, {opt: "rshared", prop: unix.MS_SHARED | unix.MS_REC},
		{opt: "slave", prop: unix.MS_SLAVE}, {opt: "rslave", prop: unix.MS_SLAVE | unix.MS_REC},
		{opt: "unbindable", prop: unix.MS_UNBINDABLE}, {opt: "runbindable", prop: unix.MS_UNBINDABLE | unix.MS_REC},
	} {
		got := ParseOptions([]string{tc.opt})
		assert.Equal(t, MountOpts{Flags: tc.set, Propagation: tc.prop}, got, tc.opt)
		if tc.clear != 0 {
			all := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_SYNCHRONOUS |
				unix.MS_MANDLOCK | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME)
			var setAll []string
			for _, o := range mountOpts {
				if !o.clear && o.flag&all != 0 {
					setAll = append(setAll, o.name)
				}
			}
			got = ParseOptions(append(setAll, tc.opt))
			assert.Equal(t, all&^tc.clear, got.Flags, tc.opt)
		}
	}
	assert.Len(t, mountOpts, 26)
	assert.Len(t, propOpts, 8)
	cmp := func(a, b mountOpt) int { return strings.Compare(a.name, b.name) }
	assert.True(t, slices.IsSortedFunc(mountOpts[:], cmp))
	assert.True(t, slices.IsSortedFunc(propOpts[:], cmp))
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MountOpts
	}{
		{"", MountOpts{}},
		{"rw,nodev,relatime,create=dir,mode=755", MountOpts{Flags: unix.MS_NODEV | unix.MS_RELATIME, Data: "mode=755", Create: "dir"}},
		{"bind,rw,create=file", MountOpts{Flags: unix.MS_BIND, Create: "file"}},
		{"create=file,create=dir", MountOpts{Create: "dir"}},
		{"create=dir,create=file", MountOpts{Create: "dir"}},
		{"rbind,ro,optional,relative,origin=mkdir,rslave", MountOpts{Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY,
			Propagation: unix.MS_SLAVE | unix.MS_REC, Optional: true, Relative: true, OriginMkdir: true}},
		{"ro,rw", MountOpts{}},
		{"rw,ro", MountOpts{Flags: unix.MS_RDONLY}},
		{"size=10m,noacl,nr_inodes=5,ro=1,create=other", MountOpts{Data: "size=10m,noacl,nr_inodes=5,ro=1,create=other"}},
		{"idmap=container,bind", MountOpts{Flags: unix.MS_BIND, IDMap: "container"}},
		{"nooptional,RO", MountOpts{Data: "nooptional,RO"}},
	} {
		assert.Equal(t, tc.want, ParseOptions(splitList(tc.in, ",")), tc.in)
	}
}

func TestParseMountEntry(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want MountEntry
	}{
		{"tmpfs run tmpfs rw,nodev,relatime,create=dir,mode=755 0 0",
			MountEntry{"tmpfs", "run", "tmpfs", []string{"rw", "nodev", "relatime", "create=dir", "mode=755"}, 0, 0}},
		{"/etc/resolv.conf etc/resolv.conf none bind,rw,create=file 0 0",
			MountEntry{"/etc/resolv.conf", "etc/resolv.conf", "none", []string{"bind", "rw", "create=file"}, 0, 0}},
		{"proc proc proc", MountEntry{Source: "proc", Target: "proc", FSType: "proc"}},
		{"a\tb  c\t d 3", MountEntry{"a", "b", "c", []string{"d"}, 3, 0}},
		{"a b c , 1 2", MountEntry{"a", "b", "c", nil, 1, 2}},
		{`/my\040dir/a\011b\012c\134d\\e x\040y none bind`,
			MountEntry{"/my dir/a\tb\nc\\d\\e", "x y", "none", []string{"bind"}, 0, 0}},
		{`a\041 b\ c`, MountEntry{`a\041`, `b\`, "c", nil, 0, 0}},
	} {
		got, err := ParseMountEntry(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "a", "a b", "a b c d e f g", "a b c d x", "a b c d 0 y"} {
		_, err := ParseMountEntry(bad)
		assert.ErrorIs(t, err, ErrBadValue, bad)
	}
}

func TestReadFstab(t *testing.T) {
	got, err := ReadFstab(strings.NewReader("# fstab\n\n  proc proc proc nodev 0 0\n\t# indented comment\nsys sys sysfs ro\n"), "f")
	require.NoError(t, err)
	assert.Equal(t, []MountEntry{
		{"proc", "proc", "proc", []string{"nodev"}, 0, 0},
		{"sys", "sys", "sysfs", []string{"ro"}, 0, 0},
	}, got)
	_, err = ReadFstab(strings.NewReader("proc proc proc\nbroken\n"), "f")
	assert.ErrorIs(t, err, ErrBadValue)
	assert.Contains(t, err.Error(), "f:2: ")
}
