package storage

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/state"
)

func TestFindTrail(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"objects", "trails/0", "trails/locals/up", "trails/locals/.new.x", "trails/x", "other/7"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	tests := []struct {
		dir, rev string
		ok       bool
	}{
		{"trails/0", "0", true},
		{"trails/0/", "0", true},
		{"trails/locals/up", "locals/up", true},
		{"trails/locals/.new.x", "", false}, // a staging trail
		{"trails/x", "", false},             // not a revision name
		{"trails/locals", "", false},
		{"trails", "", false},
		{"other/7", "", false},
		{".", "", false},
	}
	for _, tt := range tests {
		r, rev, ok := FindTrail(filepath.Join(root, tt.dir))
		assert.Equal(t, tt.ok, ok, tt.dir)
		assert.Equal(t, tt.rev, rev, tt.dir)
		if tt.ok {
			assert.Equal(t, root, r, tt.dir)
		}
	}

	noObjects := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(noObjects, "trails", "1"), 0o755))
	_, _, ok := FindTrail(filepath.Join(noObjects, "trails", "1"))
	assert.False(t, ok, "a trails/ without objects/ is no storage")
}

// TestReadDirUploadedStep: a step uploaded to trails/locals/NAME has only
// .pvr/json; its objects are found in the storage's objects/.
func TestReadDirUploadedStep(t *testing.T) {
	root := t.TempDir()
	sha := "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	trail := filepath.Join(root, "trails", "locals", "up")
	require.NoError(t, os.MkdirAll(filepath.Join(trail, ".pvr"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "objects"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "objects", sha), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(trail, ".pvr", "json"), []byte(`{"#spec":"pantavisor-service-system@1"}`), 0o644))

	d, err := ReadDir(trail)
	require.NoError(t, err)
	assert.Equal(t, pvrpkg.LayoutTrail, d.Layout)
	assert.Equal(t, filepath.Join(root, "objects"), d.ObjectsDir)
	has, err := d.Has(state.Object{Name: "app/root.squashfs", SHA: sha})
	require.NoError(t, err)
	assert.True(t, has)

	// A .pvr/config of the trail's own wins.
	require.NoError(t, os.WriteFile(filepath.Join(trail, ".pvr", "config"), []byte(`{"ObjectsDir":"/elsewhere"}`), 0o644))
	d, err = ReadDir(trail)
	require.NoError(t, err)
	assert.Equal(t, "/elsewhere", d.ObjectsDir)

	// Outside a storage, nothing changes.
	lone := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.MkdirAll(filepath.Join(lone, ".pvr"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(lone, ".pvr", "json"), []byte(`{}`), 0o644))
	d, err = ReadDir(lone)
	require.NoError(t, err)
	assert.Equal(t, "", d.ObjectsDir)
}
