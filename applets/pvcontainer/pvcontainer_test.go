package pvcontainer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestStartWithoutStorage: a start from a storage that is not there is
// refused with exit 125 and its reason, and creates nothing: no storage
// layout in the missing directory nor in an empty one.
func TestStartWithoutStorage(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	assert.NoError(t, os.Mkdir(empty, 0o755))
	for _, root := range []string{filepath.Join(dir, "missing"), empty} {
		var stdout, stderr bytes.Buffer
		code := Main([]string{"pv-container", "start", "--storage", root, "--rev", "0", "app"}, nil, &stdout, &stderr)
		assert.Equal(t, ExitCannotStart, code, "stderr: %s", stderr.String())
		assert.Equal(t, "pv-container: opening storage "+root+": no storage there (no trails directory)\n", stderr.String())
	}
	assert.NoDirExists(t, filepath.Join(dir, "missing"))
	entries, err := os.ReadDir(empty)
	assert.NoError(t, err)
	assert.Empty(t, entries)
}
