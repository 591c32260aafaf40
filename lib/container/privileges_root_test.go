package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setuidLayer is an overlay layer holding a setuid-root copy of busybox
// at /sbin/busybox with /sbin/su linked to it: busybox's su refuses to run
// ("must be suid to work properly") unless its effective uid is 0.
func setuidLayer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	sbin := filepath.Join(dir, "sbin")
	require.NoError(t, os.Mkdir(sbin, 0o755))
	data, err := os.ReadFile("/bin/busybox")
	require.NoError(t, err)
	bb := filepath.Join(sbin, "busybox")
	require.NoError(t, os.WriteFile(bb, data, 0o755))
	require.NoError(t, os.Chmod(bb, os.ModeSetuid|0o755))
	require.NoError(t, os.Symlink("busybox", filepath.Join(sbin, "su")))
	return dir
}

// TestNoNewPrivs: an init running as uid 1000 gains euid 0 through a
// setuid-root binary, unless the spec sets no_new_privs.
func TestNoNewPrivs(t *testing.T) {
	lower := mountImage(t, busyboxImage(t))
	layer := setuidLayer(t)
	for _, nnp := range []bool{false, true} {
		spec := testSpec(t, lower, "/bin/sh", "-c", `grep NoNewPrivs /proc/self/status; /sbin/su -c true root </dev/null; echo done`)
		spec.Lower = []string{layer, lower}
		spec.UID, spec.GID, spec.NoNewPrivs = 1000, 1000, nnp
		code, out := run(t, spec)
		require.Equal(t, 0, code, out)
		require.Contains(t, out, "done", out)
		if nnp {
			assert.Contains(t, out, "NoNewPrivs:\t1")
			assert.Contains(t, out, "su: must be suid to work properly", "the setuid bit is ignored: euid stays 1000")
		} else {
			assert.Contains(t, out, "NoNewPrivs:\t0")
			assert.NotContains(t, out, "must be suid", "without no_new_privs the setuid bit gives euid 0")
			assert.Contains(t, out, "su: ", "su ran as root and went on to its next check")
		}
	}
}
