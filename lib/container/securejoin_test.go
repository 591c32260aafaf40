package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "run"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var"), 0o755))
	require.NoError(t, os.Symlink("../run", filepath.Join(root, "var", "run")))
	require.NoError(t, os.Symlink("/etc", filepath.Join(root, "abs")))
	require.NoError(t, os.Symlink("../../..", filepath.Join(root, "var", "up")))
	require.NoError(t, os.Symlink("loop", filepath.Join(root, "loop")))
	for in, want := range map[string]string{
		"":                 root,
		"/":                root,
		"tmp":              root + "/tmp",
		"/tmp/x":           root + "/tmp/x",
		"var/run/dbus":     root + "/run/dbus",
		"abs/hosts":        root + "/etc/hosts",
		"./a/./b":          root + "/a/b",
		"var/../run":       root + "/run",
		"missing/../other": root + "/other",
	} {
		got, err := resolveIn(root, in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"..", "../etc", "a/../../etc", "var/up", "var/up/x"} {
		_, err := resolveIn(root, in)
		assert.ErrorIs(t, err, ErrEscape, in)
	}
	_, err := resolveIn(root, "loop/x")
	assert.ErrorContains(t, err, "too many symlinks")
}

func TestSpecRoundTrip(t *testing.T) {
	s := &Spec{Name: "c \"1\"", Root: "/r", Lower: []string{"/a", "/b"}, Upper: "/u", Work: "/w",
		Mounts: []Mount{{Source: "proc", Target: "proc", FSType: "proc", Flags: 14, Create: "dir"},
			{Source: "/x", Target: "y", Flags: 4096 | 1, Data: "mode=755", Optional: true}},
		Autodev: true, Hostname: "h", Caps: []int{0, 12, 40}, UID: 1000, GID: 100, NoNewPrivs: true,
		Env: []string{"PATH=/bin", "A=b c"}, Cwd: "/app", Args: []string{"/bin/sh", "-c", "echo \"hi\"\n"},
		Console: "/dev/pts/3",
		Net: []NetIface{{TempName: "pvtmp0", Name: "eth0", MAC: "02:00:0a:00:00:02", Addr: "10.0.0.2/24", Gateway: "10.0.0.1"},
			{TempName: "eth1", Addr: "192.168.1.5/16"}}}
	got, err := decodeSpec(s.encode())
	require.NoError(t, err)
	assert.Equal(t, s, got)
	_, err = decodeSpec([]byte(`{"uid":"x"}`))
	assert.ErrorContains(t, err, "uid")
	_, err = decodeSpec([]byte(`{`))
	assert.ErrorContains(t, err, "stage spec")
}
