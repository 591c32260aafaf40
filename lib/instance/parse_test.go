package instance

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestMountsBelow(t *testing.T) {
	mi := `22 1 8:1 / / rw - ext4 /dev/sda1 rw
30 22 0:40 / /v rw - tmpfs tmpfs rw
31 30 7:0 / /v/os/root.squashfs ro - squashfs /dev/loop0 ro
32 30 0:41 / /v/os/a\040b rw - tmpfs tmpfs rw
33 30 0:42 / /v/os/a\040b/c rw - tmpfs tmpfs rw
34 30 0:43 / /v/os/root.squashfs ro - squashfs /dev/loop1 ro
35 22 0:44 / /vx/y rw - tmpfs tmpfs rw
36 22 0:45 / /r/bin/pantavisor ro - ext4 /dev/sda1 ro
`
	for _, c := range []struct {
		name string
		dirs []string
		want []string
	}{
		{"none", nil, nil},
		{"below only, deepest first, stacks latest first", []string{"/v"},
			[]string{"/v/os/a b/c", "/v/os/root.squashfs", "/v/os/a b", "/v/os/root.squashfs"}},
		{"two dirs", []string{"/r", "/vx"}, []string{"/r/bin/pantavisor", "/vx/y"}},
		{"prefix is not a parent", []string{"/v/os/root"}, nil},
		{"trailing slash", []string{"/r/"}, []string{"/r/bin/pantavisor"}},
		{"root dir: everything but /", []string{"/"}, []string{"/v/os/a b/c", "/r/bin/pantavisor", "/v/os/root.squashfs",
			"/v/os/a b", "/v/os/root.squashfs", "/vx/y", "/v"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := MountsBelow(strings.NewReader(mi), c.dirs)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	_, err := MountsBelow(strings.NewReader("1 2 3\n"), []string{"/"})
	assert.ErrorContains(t, err, "mountinfo line 1: malformed")
}

func TestHolderPid(t *testing.T) {
	locks := `1: POSIX  ADVISORY  WRITE 500 fe:00:42 0 EOF
2: FLOCK  ADVISORY  READ 600 fe:00:42 0 EOF
3: FLOCK  ADVISORY  WRITE 700 00:1a:42 0 EOF
3: -> FLOCK  ADVISORY  WRITE 800 fe:00:42 0 EOF
4: FLOCK  ADVISORY  WRITE -1 103:05:7 0 EOF
5: FLOCK  ADVISORY  WRITE 900 fe:00:42 0 EOF
6: FLOCK  ADVISORY  WRITE 1000 103:05:8 0 EOF
`
	for _, c := range []struct {
		name string
		id   LockID
		want int
	}{
		{"flock write, not posix, read or a waiter", LockID{0xfe, 0, 42}, 900},
		{"two hex digits at least", LockID{0, 0x1a, 42}, 700},
		{"three hex digits", LockID{0x103, 5, 8}, 1000},
		{"pid -1: unknown", LockID{0x103, 5, 7}, 0},
		{"not listed", LockID{1, 2, 3}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := HolderPid(strings.NewReader(locks), c.id)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestFlockString(t *testing.T) {
	for how, want := range map[int]string{
		unix.LOCK_EX:                "LOCK_EX",
		unix.LOCK_EX | unix.LOCK_NB: "LOCK_EX|LOCK_NB",
		unix.LOCK_SH:                "LOCK_SH",
		unix.LOCK_SH | unix.LOCK_NB: "LOCK_SH|LOCK_NB",
		unix.LOCK_UN:                "LOCK_UN",
		0x40:                        "0x40",
		0x40 | unix.LOCK_NB:         "0x40|LOCK_NB",
	} {
		assert.Equal(t, want, flockString(how), "%#x", how)
	}
}

func FuzzMountsBelow(f *testing.F) {
	f.Add("31 30 7:0 / /v/os/a\\040b ro - squashfs /dev/loop0 ro\n", "/v")
	f.Fuzz(func(t *testing.T, mi, dir string) {
		got, err := MountsBelow(strings.NewReader(mi), []string{dir})
		if err != nil {
			return
		}
		for _, p := range got {
			if !below(p, dir) {
				t.Fatalf("%q is not below %q", p, dir)
			}
		}
	})
}

func FuzzHolderPid(f *testing.F) {
	f.Add("1: FLOCK  ADVISORY  WRITE 900 fe:00:42 0 EOF\n")
	f.Fuzz(func(t *testing.T, locks string) {
		pid, err := HolderPid(strings.NewReader(locks), LockID{0xfe, 0, 42})
		if err == nil && pid < 0 {
			t.Fatalf("negative pid %d", pid)
		}
	})
}
