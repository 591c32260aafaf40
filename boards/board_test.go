package boards

import (
	"os"
	"path/filepath"
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
	for _, name := range []string{"bad-json", "no-arch", "misnamed", "missing"} {
		_, err := Load(dir, name)
		assert.Error(t, err, name)
	}
}
