package pid1

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordCrashes: the crash log is created below the storage's logs
// directory; a storage where it cannot be created is reported.
func TestRecordCrashes(t *testing.T) {
	t.Cleanup(func() { debug.SetCrashOutput(nil, debug.CrashOptions{}) })
	storage := t.TempDir()
	var out bytes.Buffer
	RecordCrashes(&out, storage)
	assert.Empty(t, out.String())
	assert.FileExists(t, filepath.Join(storage, "logs", "crash.log"))

	// logs is a file: no directory.
	storage = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(storage, "logs"), nil, 0o644))
	RecordCrashes(&out, storage)
	assert.Contains(t, out.String(), "pantavisor: crash log: mkdir ")

	// crash.log is a directory: it cannot be opened.
	storage = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(storage, "logs", "crash.log"), 0o755))
	out.Reset()
	RecordCrashes(&out, storage)
	assert.Contains(t, out.String(), "pantavisor: crash log: open ")
}

// TestUnmountStorageNotMounted: a directory that is no mount point fails
// to unmount, which is reported, and is then detached (which fails too,
// silently: the storage is going away either way).
func TestUnmountStorageNotMounted(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	UnmountStorage(&out, dir)
	assert.Contains(t, out.String(), "pantavisor: unmounting "+dir+": umount "+dir+": ")
	assert.Contains(t, out.String(), "; detaching it\n")
	assert.DirExists(t, dir)
}
