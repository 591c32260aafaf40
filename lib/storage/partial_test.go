package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenPartialRefusesBadNames: only a sha256 names a partial, checked
// before anything is created; a symbolic link in its place is refused.
func TestOpenPartialRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	s := openStorage(t, dir)
	for _, name := range []string{"", "../x", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63), strings.Repeat("a", 63) + "/"} {
		_, err := s.OpenPartial(name)
		assert.ErrorContains(t, err, "not a sha256", "%q", name)
		assert.Error(t, s.RemovePartial(name), "%q", name)
		_, err = s.InstallPartial(name)
		assert.Error(t, err, "%q", name)
		assert.Zero(t, s.PartialSize(name))
	}
	assert.NoDirExists(t, filepath.Join(dir, partialDir), "nothing created for a bad name")

	sha := strings.Repeat("b", 64)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, partialDir), 0o755))
	require.NoError(t, os.Symlink("/etc/passwd", s.PartialPath(sha)))
	_, err := s.OpenPartial(sha)
	assert.Error(t, err, "a symlink is not followed")
	assert.Zero(t, s.PartialSize(sha))
}

// TestPartialInstall: a partial survives Open (a reboot), keeps its bytes
// across reopenings, and InstallPartial makes it the object (hard link)
// and removes it.
func TestPartialInstall(t *testing.T) {
	dir := t.TempDir()
	s := openStorage(t, dir)
	content := []byte("partial object content")
	sha := sum(content)
	f, err := s.OpenPartial(sha)
	require.NoError(t, err)
	_, err = f.Write(content[:7])
	require.NoError(t, err)
	require.NoError(t, f.Close())

	s = openStorage(t, dir) // reboot
	assert.EqualValues(t, 7, s.PartialSize(sha))
	f, err = s.OpenPartial(sha)
	require.NoError(t, err)
	_, err = f.WriteAt(content[7:], 7)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	added, err := s.InstallPartial(sha)
	require.NoError(t, err)
	assert.True(t, added)
	got, err := os.ReadFile(s.ObjectPath(sha))
	require.NoError(t, err)
	assert.Equal(t, content, got)
	assert.NoFileExists(t, s.PartialPath(sha))
	objectsConsistent(t, s)

	_, err = s.InstallPartial(sha)
	assert.Error(t, err, "no partial left")
	require.NoError(t, s.RemovePartial(sha), "removing none is fine")
}

// TestPartialInstallSeals: with fs-verity, an installed partial is sealed
// and its digest recorded like any installed object.
func TestPartialInstallSeals(t *testing.T) {
	fv := newFakeVerity()
	s := openStorage(t, t.TempDir())
	s.verity = fv.ops(t)
	content := []byte("sealed")
	sha := sum(content)
	f, err := s.OpenPartial(sha)
	require.NoError(t, err)
	_, err = f.Write(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = s.InstallPartial(sha)
	require.NoError(t, err)
	assert.Equal(t, 1, fv.enabled)
	assert.FileExists(t, s.verityRecord(sha))
}

// TestGCPartials: GC keeps the partials of objects a revision or
// KeepObjects wants (and recent ones with KeepObjectsSince), and removes
// the others, those of stored objects and junk.
func TestGCPartials(t *testing.T) {
	s := openStorage(t, t.TempDir())
	fx := newFixture("a")
	_, err := s.PutState("1", -1, strings.NewReader(string(fx.json)))
	require.NoError(t, err)
	var wanted string
	for sha := range fx.contents {
		wanted = sha
		break
	}
	kept, unwanted, stored := strings.Repeat("c", 64), strings.Repeat("d", 64), sum([]byte("stored"))
	_, err = s.InstallObject(stored, 6, strings.NewReader("stored"))
	require.NoError(t, err)
	for _, sha := range []string{wanted, kept, unwanted, stored} {
		f, err := s.OpenPartial(sha)
		require.NoError(t, err)
		_, err = f.WriteString("12345")
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	require.NoError(t, os.WriteFile(filepath.Join(s.Root, partialDir, "junk"), []byte("j"), 0o644))

	rep, err := s.GC(GCOptions{Keep: []string{"1"}, KeepObjects: []string{kept, stored}})
	require.NoError(t, err)
	assert.FileExists(t, s.PartialPath(wanted), "named by a revision's state")
	assert.FileExists(t, s.PartialPath(kept), "in KeepObjects")
	assert.NoFileExists(t, s.PartialPath(unwanted))
	assert.NoFileExists(t, s.PartialPath(stored), "the object is stored already")
	assert.NoFileExists(t, filepath.Join(s.Root, partialDir, "junk"))
	assert.FileExists(t, s.ObjectPath(stored))
	assert.GreaterOrEqual(t, rep.Bytes, int64(11))

	f, err := s.OpenPartial(unwanted)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = s.GC(GCOptions{Keep: []string{"1"}, KeepObjectsSince: time.Now().Add(-time.Minute)})
	require.NoError(t, err)
	assert.FileExists(t, s.PartialPath(unwanted), "recent partials kept with KeepObjectsSince")
}
