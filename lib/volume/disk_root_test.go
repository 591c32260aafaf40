package volume

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
	"pantavisor/lib/testenv"
)

// fakeDisks maps disk refs to directories standing in for mounted disks.
type fakeDisks struct {
	roots map[string]string
	asked []string
}

func (f *fakeDisks) Mount(ref string) (string, []string, error) {
	f.asked = append(f.asked, ref)
	root, ok := f.roots[ref]
	if !ok {
		return "", nil, errors.New("no disk " + ref)
	}
	return root, []string{"warned " + ref}, nil
}

// TestDiskVolumes: volumes on a disk are binds of <disk>/perm/<c>/<v>,
// <disk>/rev/<rev>/<c>/<v> and <disk>/boot/<c>/<v> (emptied at each
// mount), the default disk ("") takes the volumes that name none, and
// plain storage is used only when there is no default.
func TestDiskVolumes(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	crypt, def := filepath.Join(dir, "crypt"), filepath.Join(dir, "default")
	disks := &fakeDisks{roots: map[string]string{"secrets": crypt, "": def}}
	stale := filepath.Join(crypt, "boot", "app", "tmp", "stale")
	require.NoError(t, os.MkdirAll(filepath.Dir(stale), 0o755))
	require.NoError(t, os.WriteFile(stale, nil, 0o644))
	s := Set{Container: "app", Dir: filepath.Join(dir, "volumes", "app"), Perm: filepath.Join(dir, "perm"),
		Rev: filepath.Join(dir, "rev"), Disks: disks, Revision: "7",
		Storage: []state.Volume{
			{Name: "data", Persistence: Permanent, Disk: "secrets"},
			{Name: "cache", Persistence: Revision, Disk: "secrets"},
			{Name: "tmp", Persistence: Boot, Disk: "secrets"},
			{Name: "plain", Persistence: Permanent},
		}}
	m, err := Mount(s)
	require.NoError(t, err)
	for vol, src := range map[string]string{
		"data": filepath.Join(crypt, "perm", "app", "data"), "cache": filepath.Join(crypt, "rev", "7", "app", "cache"),
		"tmp": filepath.Join(crypt, "boot", "app", "tmp"), "plain": filepath.Join(def, "perm", "app", "plain"),
	} {
		require.NoError(t, os.WriteFile(filepath.Join(s.Dir, vol, "marker"), []byte(vol), 0o644))
		assert.FileExists(t, filepath.Join(src, "marker"), vol)
	}
	assert.NoFileExists(t, stale, "a boot volume on a disk starts empty")
	assert.Equal(t, []string{"secrets", "secrets", "secrets", ""}, disks.asked)
	assert.Contains(t, m.Warnings, "warned secrets")
	require.NoError(t, m.Unmount())

	// No default disk: plain storage.
	disks.roots[""] = ""
	s.Storage = []state.Volume{{Name: "plain", Persistence: Permanent}}
	m, err = Mount(s)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "plain", "m2"), nil, 0o644))
	assert.FileExists(t, filepath.Join(dir, "perm", "plain", "m2"))
	require.NoError(t, m.Unmount())
}

// TestDiskVolumeNeverPlain: a volume whose disk fails, or that names a
// disk when the Set has none, fails the mount; nothing is written to
// plain storage.
func TestDiskVolumeNeverPlain(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	base := Set{Container: "app", Dir: filepath.Join(dir, "volumes", "app"), Perm: filepath.Join(dir, "perm"),
		Rev: filepath.Join(dir, "rev"), Revision: "1",
		Storage: []state.Volume{{Name: "data", Persistence: Permanent, Disk: "secrets"}}}
	_, err := Mount(base)
	assert.ErrorIs(t, err, ErrNoDisks)
	base.Disks = &fakeDisks{roots: map[string]string{}}
	_, err = Mount(base)
	assert.ErrorContains(t, err, "volume data: no disk secrets")
	assert.NoDirExists(t, filepath.Join(dir, "perm"))
}
