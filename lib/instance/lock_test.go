package instance

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcquireStorage: a second Acquire on a locked storage fails with a
// LockedError naming the storage and its holder (this process, as
// /proc/locks shows it); after Release it succeeds. A missing storage is
// made.
func TestAcquireStorage(t *testing.T) {
	st := filepath.Join(t.TempDir(), "storage")
	l, err := Acquire(LockOptions{Storage: st})
	require.NoError(t, err)
	assert.DirExists(t, st)

	_, err = Acquire(LockOptions{Storage: st})
	require.ErrorIs(t, err, ErrLocked)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, LockedError{What: "storage", Path: st, Pid: os.Getpid()}, *le)
	assert.Equal(t, "storage "+st+": locked by another engine (pid "+itoa(os.Getpid())+")", err.Error())

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "twice is fine")
	l2, err := Acquire(LockOptions{Storage: st})
	require.NoError(t, err, "released")
	require.NoError(t, l2.Release())
	var none *Lock
	assert.NoError(t, none.Release())
	_, err = Acquire(LockOptions{})
	assert.ErrorContains(t, err, "no storage directory")
}

// TestAcquireCgroupParent: two engines on different storages and one
// cgroup parent: the second is refused on the parent and keeps no lock
// on its storage. The parent is made in every hierarchy; without cgroups
// there is no parent lock.
func TestAcquireCgroupParent(t *testing.T) {
	f := newFake(t)
	o := LockOptions{Storage: f.path("s1"), CgroupParent: "pv/engines", CgroupRoot: f.path("cg"), Mountinfo: f.path("mountinfo")}
	l, err := Acquire(o)
	require.NoError(t, err)
	defer l.Release()
	for _, h := range []string{"pids", "freezer", "unified"} {
		assert.DirExists(t, f.path("cg/"+h+"/pv/engines"))
	}

	o2 := o
	o2.Storage = f.path("s2")
	_, err = Acquire(o2)
	require.ErrorIs(t, err, ErrLocked)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "cgroup parent", le.What)
	assert.Equal(t, f.path("cg/unified/pv/engines"), le.Path, "the cgroup2 directory is the one locked")
	l2, err := Acquire(LockOptions{Storage: o2.Storage})
	require.NoError(t, err, "the refused Acquire left its storage unlocked")
	l2.Release()

	o3 := o2
	o3.CgroupParent = "pv/other"
	l3, err := Acquire(o3)
	require.NoError(t, err, "another parent")
	l3.Release()

	o4 := o2
	o4.Mountinfo = filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(o4.Mountinfo, []byte("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"), 0o644))
	l4, err := Acquire(o4)
	require.NoError(t, err, "no cgroups: nothing shared")
	l4.Release()

	o5 := o2
	o5.CgroupParent = "../x"
	_, err = Acquire(o5)
	assert.ErrorContains(t, err, "invalid cgroup name")
}

func itoa(n int) string { return strconv.Itoa(n) }
