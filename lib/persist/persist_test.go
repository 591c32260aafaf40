package persist

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type stop struct{ point string }

// crashAt returns a Writer whose hook panics at its n-th point, recording
// every point seen; the panic stands in for the process dying there.
func crashAt(n int, seen *[]string) *Writer {
	return &Writer{Crash: func(p string) {
		*seen = append(*seen, p)
		if len(*seen) == n {
			panic(stop{p})
		}
	}}
}

func TestWriteFilePoints(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	var seen []string
	require.NoError(t, crashAt(0, &seen).WriteFile(p, []byte("new"), 0o600))
	assert.Equal(t, []string{"write " + p + ".tmp", "fsync " + p + ".tmp", "rename " + p, "fsync " + dir}, seen)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	assert.NoFileExists(t, p+".tmp")
}

// TestWriteFileCrashKeepsOldOrNew: stopped at any point, the file holds
// the old or the new content, never anything else.
func TestWriteFileCrashKeepsOldOrNew(t *testing.T) {
	for n := 1; n <= 4; n++ {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
		var seen []string
		func() {
			defer func() { _ = recover() }()
			crashAt(n, &seen).WriteFile(p, []byte("new"), 0o644)
		}()
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Contains(t, []string{"old", "new"}, string(got), "crash at %s", seen[n-1])
		if n <= 3 {
			assert.Equal(t, "old", string(got), "before the rename the old content stays (%s)", seen[n-1])
		}
	}
}

func TestWriteFileErrors(t *testing.T) {
	w := &Writer{}
	err := w.WriteFile(filepath.Join(t.TempDir(), "missing", "f"), nil, 0o644)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "missing/f")
}

func TestLinkSymlinkMkdir(t *testing.T) {
	dir := t.TempDir()
	var w Writer
	src := filepath.Join(dir, "src")
	require.NoError(t, os.WriteFile(src, []byte("x"), 0o644))
	require.NoError(t, w.MkdirAll(filepath.Join(dir, "a", "b", "c"), 0o755))
	assert.DirExists(t, filepath.Join(dir, "a", "b", "c"))
	require.NoError(t, w.MkdirAll(filepath.Join(dir, "a", "b", "c"), 0o755), "existing directory is fine")
	assert.Error(t, w.MkdirAll(filepath.Join(src, "sub"), 0o755), "a file in the way")

	dst := filepath.Join(dir, "a", "link")
	require.NoError(t, w.Link(src, dst))
	assert.ErrorIs(t, w.Link(src, dst), os.ErrExist)

	cur := filepath.Join(dir, "current")
	require.NoError(t, w.Symlink("1", cur))
	require.NoError(t, w.Symlink("2", cur), "replaces atomically")
	target, err := os.Readlink(cur)
	require.NoError(t, err)
	assert.Equal(t, "2", target)
	var nilW *Writer
	nilW.Point("no hook, no panic")
}
