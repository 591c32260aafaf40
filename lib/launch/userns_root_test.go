package launch

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

// TestUserNamespace: a container with lxc.idmap runs in its own user
// namespace as root there; what its root writes to a volume and to the
// overlay is owned by the mapped ids on the host.
func TestUserNamespace(t *testing.T) {
	f := newFixture(t)
	// The mapped root has no rights over host-root files outside its map:
	// the test's own directories must be searchable by others, as the
	// device's are, and the stage comes from /proc/self/exe (a magic link
	// the kernel follows without searching the go build directory).
	for _, d := range []string{filepath.Dir(f.dir), f.dir} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	f.opts.Stage.Exe = "/proc/self/exe"
	conf := strings.Replace(lxcConf, "lxc.namespace.keep = user net ipc\n",
		"lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n", 1)
	script := `id -u; cat /proc/self/uid_map /proc/self/gid_map; echo perm > /data/perm/f && echo wrote; touch /upperfile; ls -ln /bin/busybox`
	installConf(t, f, "0", conf, script, "")
	before := testenv.TakeResources(t, f.dir, f.parent)
	code, out := f.run(t, "0")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^0$`, out, "the init is root in its namespace")
	assert.Regexp(t, `(?m)^\s+0\s+100000\s+65536$`, out, "uid_map and gid_map as lxc.idmap says")
	assert.Contains(t, out, "wrote", "the mapped root can write to its volume")
	assert.Regexp(t, `(?m)^-rwxr-xr-x\s+\d+\s+65534\s+65534\s.*busybox`, out, "the image's host-root files show as the overflow id")

	owner := func(p string) (uint32, uint32) {
		t.Helper()
		fi, err := os.Stat(p)
		require.NoError(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		return st.Uid, st.Gid
	}
	uid, gid := owner(filepath.Join(f.st.Root, "disks/perm/c1/perm/f"))
	assert.Equal(t, [2]uint32{100000, 100000}, [2]uint32{uid, gid}, "the file on the volume belongs to the mapped root")

	after := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, before.Mounts, after.Mounts, "no mount leaked")
	assert.Empty(t, after.Cgroups, "no cgroup left")
}
