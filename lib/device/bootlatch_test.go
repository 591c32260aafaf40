package device

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/blkid"
	"pantavisor/lib/bootloader"
)

// TestMountBootLatch: only the uboot kinds with a spec mount anything; a
// partition that never appears is an error naming it, with the zero
// options (the latch then stays in uboot.txt) and no mount point.
func TestMountBootLatch(t *testing.T) {
	root := t.TempDir()
	f := blkid.Finder{Sys: filepath.Join(root, "sys"), Dev: filepath.Join(root, "dev")}
	target := filepath.Join(root, "boot")
	for _, tc := range []struct{ kind, spec string }{
		{bootloader.KindGrub, "LABEL=PVBOOT"},
		{bootloader.KindDirect, "LABEL=PVBOOT"},
		{bootloader.KindUboot, ""},
		{bootloader.KindUbootPVK, ""},
	} {
		o, dir, err := MountBootLatch(f, tc.kind, tc.spec, target, 0)
		require.NoError(t, err, tc.kind)
		assert.Equal(t, bootloader.Options{}, o, tc.kind)
		assert.Empty(t, dir, tc.kind)
		assert.NoDirExists(t, target, "nothing made for %s %q", tc.kind, tc.spec)
	}
	for _, kind := range []string{bootloader.KindUboot, bootloader.KindUbootPVK} {
		o, dir, err := MountBootLatch(f, kind, "LABEL=PVBOOT", target, 0)
		require.ErrorIs(t, err, blkid.ErrNotFound)
		assert.Contains(t, err.Error(), "boot partition LABEL=PVBOOT")
		assert.Equal(t, bootloader.Options{}, o)
		assert.Empty(t, dir)
	}
}
