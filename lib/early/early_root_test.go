package early

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/testenv"
)

// mountCount returns how many mounts /proc/self/mountinfo lists at target.
func mountCount(t *testing.T, target string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == target {
			n++
		}
	}
	require.NoError(t, sc.Err())
	return n
}

// unmountAll detaches every mount stacked at target.
func unmountAll(t *testing.T, target string) {
	for i := 0; i < 8 && mountCount(t, target) > 0; i++ {
		assert.NoError(t, mount.Unmount(target, unix.MNT_DETACH))
	}
}

// TestRunCreatesForReal runs a boot list into a temporary directory: a
// directory, a tmpfs and a sysfs mount, the null device node and a symlink
// are created; an optional step's failure is reported and passed over; a
// required step's failure is reported and stops the list. Running the good
// steps again changes nothing and fails nothing.
func TestRunCreatesForReal(t *testing.T) {
	testenv.RequireRoot(t)
	root := t.TempDir()
	p := func(rel string) string { return filepath.Join(root, rel) }
	require.NoError(t, os.WriteFile(p("file"), nil, 0o644))
	run, sys := p("run"), p("sys")
	t.Cleanup(func() { unmountAll(t, run); unmountAll(t, sys) })

	dir := Dir{p("a/b"), 0o750}
	tmpfs := Mount{"pvtest", run, "tmpfs", "mode=0710,size=1m", unix.MS_NOSUID | unix.MS_NODEV}
	sysfs := Mount{"sysfs", sys, "sysfs", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC}
	null := Node{p("a/null"), unix.S_IFCHR | 0o666, 1, 3}
	link := Symlink{"a/b", p("link")}
	optBad := Dir{p("file/sub"), 0o755}
	reqBad := Mount{"none", p("bad"), "pvtest-nosuchfs", "", 0}
	fails := Run([]Creator{dir, tmpfs, sysfs, null, link, Optional{optBad}, reqBad, Dir{p("after"), 0o755}})

	require.Len(t, fails, 2, "failures: %v", fails)
	assert.Equal(t, optBad, fails[0].Step, "the failure names the inner step, not the Optional wrapper")
	assert.True(t, fails[0].Optional)
	assert.ErrorIs(t, fails[0].Err, unix.ENOTDIR)
	assert.Equal(t, reqBad, fails[1].Step)
	assert.False(t, fails[1].Optional)
	assert.ErrorIs(t, fails[1].Err, unix.ENODEV)
	var me *mount.MountError
	assert.True(t, errors.As(fails[1].Err, &me), "a mount failure is a *mount.MountError")
	_, err := os.Lstat(p("after"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no step runs after a required failure")

	fi, err := os.Stat(dir.Path)
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm())

	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(run, &st))
	assert.Equal(t, int64(unix.TMPFS_MAGIC), int64(st.Type))
	assert.NotZero(t, st.Flags&unix.ST_NOSUID, "nosuid")
	assert.NotZero(t, st.Flags&unix.ST_NODEV, "nodev")
	fi, err = os.Stat(run)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o710), fi.Mode().Perm(), "tmpfs data mode= applied")
	require.NoError(t, unix.Statfs(sys, &st))
	assert.Equal(t, int64(unix.SYSFS_MAGIC), int64(st.Type))

	var ns unix.Stat_t
	require.NoError(t, unix.Lstat(null.Path, &ns))
	assert.Equal(t, uint32(unix.S_IFCHR), ns.Mode&unix.S_IFMT)
	assert.Equal(t, unix.Mkdev(1, 3), uint64(ns.Rdev))
	target, err := os.Readlink(link.Path)
	require.NoError(t, err)
	assert.Equal(t, "a/b", target)

	// Again: existing directory, node and link, and sysfs already mounted
	// (EBUSY), are all fine and nothing is mounted twice.
	assert.Empty(t, Run([]Creator{dir, sysfs, null, link}))
	assert.Equal(t, 1, mountCount(t, sys))
	assert.Equal(t, 1, mountCount(t, run))
}
