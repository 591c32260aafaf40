package image

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPruneModules: a BSP keeps the modules its board selects (a file or
// a directory) and what they depend on per modules.dep; every other
// module and the directories left empty go; a selection matching nothing
// is refused rather than silently shipping a BSP without it.
func TestPruneModules(t *testing.T) {
	dir := t.TempDir()
	mods := []string{"kernel/fs/a/a.ko", "kernel/fs/b.ko", "kernel/lib/dep.ko", "kernel/lib/deep.ko",
		"kernel/sound/x/x.ko", "kernel/drivers/net/n.ko", "kernel/drivers/net/m.ko.xz"}
	for _, m := range mods {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(m)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, m), []byte("ko"), 0o644))
	}
	dep := "kernel/fs/a/a.ko: kernel/lib/dep.ko kernel/lib/deep.ko\nkernel/fs/b.ko:\nkernel/lib/dep.ko: kernel/lib/deep.ko\n" +
		"kernel/lib/deep.ko:\nkernel/sound/x/x.ko: kernel/lib/dep.ko kernel/lib/deep.ko\nkernel/drivers/net/n.ko:\nkernel/drivers/net/m.ko.xz:\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644))

	require.NoError(t, pruneModules(dir, []string{"kernel/fs/a", "kernel/drivers/net/m.ko.xz/"}))
	var left []string
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			left = append(left, rel)
		}
		return err
	}))
	sort.Strings(left)
	assert.Equal(t, []string{"kernel/drivers/net/m.ko.xz", "kernel/fs/a/a.ko", "kernel/lib/deep.ko", "kernel/lib/dep.ko"}, left)
	assert.NoDirExists(t, filepath.Join(dir, "kernel/sound"), "emptied directories are removed")
	assert.FileExists(t, filepath.Join(dir, "modules.dep"), "files beside kernel/ stay")

	err := pruneModules(dir, []string{"kernel/fs/nope"})
	assert.ErrorContains(t, err, `bsp_modules: "kernel/fs/nope" selects no module`)
	assert.FileExists(t, filepath.Join(dir, "kernel/fs/a/a.ko"), "a refused selection removes nothing")
	assert.Error(t, pruneModules(t.TempDir(), []string{"kernel"}), "no modules.dep")
}
