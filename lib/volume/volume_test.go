package volume

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// TestNamesCannotEscape: volume names and image paths that would leave
// the container's volume directory are refused before anything is mounted.
func TestNamesCannotEscape(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []Set{
		{Images: []string{"../../etc/shadow.squashfs"}},
		{Images: []string{"/abs.squashfs"}},
		{Images: []string{"dm:../x.squashfs"}},
		{Images: []string{"noext"}},
		{Storage: []state.Volume{{Name: "../up", Persistence: Permanent}}},
		{Storage: []state.Volume{{Name: "a/b", Persistence: Revision}}},
		{Storage: []state.Volume{{Name: "..", Persistence: Boot}}},
	} {
		s.Container, s.Dir, s.ImageDir = "c", filepath.Join(dir, "c"), dir
		s.Perm, s.Rev = filepath.Join(dir, "perm"), filepath.Join(dir, "rev")
		m, err := Mount(s)
		require.Error(t, err, "%+v", s)
		assert.ErrorIs(t, err, ErrName, "%+v", s)
		assert.Nil(t, m)
	}
}
