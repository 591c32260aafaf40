package mount

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFlagString names every flag of the table from its kernel value
// (include/uapi/linux/mount.h), so a swapped or mistyped pair fails.
func TestFlagString(t *testing.T) {
	for _, tc := range []struct {
		flags uintptr
		want  string
	}{
		{0, "rw"},
		{1, "ro"},
		{2, "nosuid"},
		{4, "nodev"},
		{8, "noexec"},
		{16, "sync"},
		{32, "remount"},
		{1024, "noatime"},
		{4096, "bind"},
		{8192, "move"},
		{16384, "rec"},
		{1 << 18, "private"},
		{1 << 19, "slave"},
		{1 << 20, "shared"},
		{1 << 21, "relatime"},
		// Unknown bits, alone and after the named ones.
		{64, "0x40"},
		{1 << 30, "0x40000000"},
		{1 | 64 | 128, "ro,0xc0"},
		// Combinations come out in table order, whatever order they were or-ed in.
		{unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "ro,nosuid,nodev,noexec"},
		{unix.MS_REC | unix.MS_BIND, "bind,rec"},
		{unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY, "ro,remount,bind"},
		{unix.MS_REC | unix.MS_PRIVATE, "rec,private"},
		{unix.MS_REC | unix.MS_SLAVE | unix.MS_RELATIME, "rec,slave,relatime"},
		{unix.MS_MOVE | unix.MS_SHARED | unix.MS_NOATIME | unix.MS_SYNCHRONOUS, "sync,noatime,move,shared"},
	} {
		if got := FlagString(tc.flags); got != tc.want {
			t.Errorf("FlagString(%#x) = %q, want %q", tc.flags, got, tc.want)
		}
	}
}

// TestFlagStringAll checks that every table entry is a distinct single bit
// and that all of them together name every entry once.
func TestFlagStringAll(t *testing.T) {
	var all uintptr
	want := ""
	for _, f := range flagNames {
		if f.flag == 0 || f.flag&(f.flag-1) != 0 {
			t.Errorf("%s: %#x is not a single bit", f.name, f.flag)
		}
		if all&f.flag != 0 {
			t.Errorf("%s: %#x is already in the table", f.name, f.flag)
		}
		all |= f.flag
		if want != "" {
			want += ","
		}
		want += f.name
	}
	if got := FlagString(all); got != want {
		t.Errorf("FlagString(all) = %q, want %q", got, want)
	}
}

func TestMountError(t *testing.T) {
	err := error(&MountError{"/dev/loop0", "/mnt", "squashfs", unix.MS_RDONLY | unix.MS_NODEV, "", unix.EBUSY})
	want := `mount /dev/loop0 on /mnt type squashfs (ro,nodev) data "": device or resource busy`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if !errors.Is(err, unix.EBUSY) {
		t.Error("errors.Is(err, EBUSY) = false")
	}
}
