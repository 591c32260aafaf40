package boards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryBoardLoads(t *testing.T) {
	ents, err := os.ReadDir(Dir())
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(Dir(), e.Name(), "board.json")); err != nil {
			continue
		}
		b, err := Load(Dir(), e.Name())
		require.NoError(t, err, e.Name())
		assert.NotEmpty(t, b.Modules, e.Name())
		n++
	}
	assert.GreaterOrEqual(t, n, 2, "qemu-x86_64 and qemu-arm64 are defined")
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name, "board.json"), []byte(body), 0o644))
	}
	write("bad-json", "{")
	write("no-arch", `{"name":"no-arch","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c"}`)
	write("misnamed", `{"name":"other","arch":"amd64","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c"}`)
	write("no-trust-dir", `{"name":"no-trust-dir","arch":"amd64","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c","trust":"nosuch"}`)
	write("trust-file", `{"name":"trust-file","arch":"amd64","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c","trust":"board.json"}`)
	write("no-signing-dir", `{"name":"no-signing-dir","arch":"amd64","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c","signing":"nosuch"}`)
	for _, name := range []string{"bad-json", "no-arch", "misnamed", "missing", "no-trust-dir", "trust-file", "no-signing-dir"} {
		_, err := Load(dir, name)
		assert.Error(t, err, name)
	}
}

// TestTrustDir: "trust" and "signing" are resolved against the board's
// directory, an absolute path is kept, and Load accepts an existing
// directory.
func TestTrustDir(t *testing.T) {
	dir := t.TempDir()
	abs := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "shared", "ca"), 0o755))
	for _, tc := range []struct{ trust, want string }{
		{"", ""},
		{"../shared/ca", filepath.Join(dir, "shared", "ca")},
		{".", filepath.Join(dir, "b")},
		{abs, abs},
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "b"), 0o755))
		body := `{"name":"b","arch":"amd64","debian_arch":"amd64","kernel_package":"k","qemu":"q","console":"c","trust":"` + tc.trust + `","signing":"` + tc.trust + `"}`
		require.NoError(t, os.WriteFile(filepath.Join(dir, "b", "board.json"), []byte(body), 0o644))
		b, err := Load(dir, "b")
		require.NoError(t, err, tc.trust)
		assert.Equal(t, tc.trust, b.Trust)
		assert.Equal(t, tc.want, b.TrustDir(dir), tc.trust)
		assert.Equal(t, tc.want, b.SigningDir(dir), tc.trust)
	}
}

// TestQEMUBoardsTrust: both QEMU boards ship the project's development
// store (its CA, then upstream's development CAs; the content is checked
// by mkinitrd's tests), sign with the project's development key, and run
// strict secure boot.
func TestQEMUBoardsTrust(t *testing.T) {
	for _, name := range []string{"qemu-x86_64", "qemu-arm64"} {
		b, err := Load(Dir(), name)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(Dir(), "trust", "pvgo-dev"), b.TrustDir(Dir()), name)
		assert.Equal(t, filepath.Join(Dir(), "keys", "pvgo-dev"), b.SigningDir(Dir()), name)
		assert.Contains(t, strings.Fields(b.Cmdline), "pv_secureboot_mode=strict", name)
	}
}
