package enter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	assert.Equal(t, Options{Parent: "pantavisor", User: "root", Proc: "/proc", Self: os.Getpid(), HostPid: 1}, o)
	set := Options{Parent: "lxc", User: "app", Proc: "/p", Self: 7, HostPid: 9}
	assert.Equal(t, set, set.withDefaults(), "set seams are kept")
}

func TestRunNoContainer(t *testing.T) {
	proc := writeProc(t, map[int]fakeProc{1: {cgroup: hybrid(""), ppid: 0, nspid: "1"}})
	_, err := Run(Options{Container: "web", Proc: proc})
	assert.ErrorIs(t, err, ErrNoContainer)
	_, err = Run(Options{Container: "_pv_", Proc: proc, HostPid: 1})
	assert.ErrorContains(t, err, "environment of _pv_", "the host's environ is read from Proc")
	assert.NoFileExists(t, filepath.Join(proc, "1", "environ"))
}

func TestCgroupParentRoot(t *testing.T) {
	assert.Equal(t, "", Options{Parent: "/"}.withDefaults().cgroupParent(), `"/" is the hierarchy root`)
	assert.Equal(t, "pantavisor", Options{}.withDefaults().cgroupParent())
	assert.Equal(t, "lxc/x", Options{Parent: "lxc/x"}.cgroupParent())
}
