package bootloader

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// ubootExport is what the boot script's "env export -b" of pv_trying and
// "fatwrite ... pv.env 0x400" leave (seen from Debian's U-Boot 2023.01):
// the entry, then NULs to 1024 bytes; nothing at all when unset.
func ubootExport(trying string) []byte {
	b := make([]byte, BlockSize)
	if trying != "" {
		copy(b, KeyTrying+"="+trying+"\x00")
	}
	return b
}

// TestUbootLatchFile: with Options.UbootLatch the uboot kinds keep
// pv_trying in that file (U-Boot's pv.env), read as U-Boot writes it and
// cleared in place (same inode: a FAT file U-Boot rewrites by name); the
// storage's uboot.txt keeps pv_rev and pv_try only. Without it, and for
// the other kinds, nothing changes.
func TestUbootLatchFile(t *testing.T) {
	for _, kind := range []string{KindUboot, KindUbootPVK} {
		t.Run(kind, func(t *testing.T) {
			storage, bootfs := t.TempDir(), t.TempDir()
			latch := filepath.Join(bootfs, UbootLatchFile)
			require.NoError(t, os.WriteFile(latch, ubootExport(""), 0o644))
			o := Options{UbootLatch: latch}
			b, err := o.OpenBoot(kind, storage)
			require.NoError(t, err)
			require.NotNil(t, b.Latch)
			require.NoError(t, b.Install("3"))

			// The boot script latches the try.
			require.NoError(t, os.WriteFile(latch, ubootExport("3"), 0o644))
			before := inode(t, latch)
			b, err = o.OpenBoot(kind, storage)
			require.NoError(t, err)
			require.Equal(t, "3", get(b.Latch, KeyTrying))
			require.Equal(t, "", get(b.Env, KeyTrying), "uboot.txt holds no latch")
			require.Equal(t, "3", b.Pending())

			require.NoError(t, b.Fail())
			data, err := os.ReadFile(latch)
			require.NoError(t, err)
			require.Equal(t, ubootExport(""), data, "cleared as an empty export")
			require.Equal(t, before, inode(t, latch), "rewritten in place")
			env, err := os.ReadFile(filepath.Join(storage, "boot/uboot.txt"))
			require.NoError(t, err)
			require.False(t, bytes.Contains(env, []byte(KeyTry+"=")), "pv_try unset: %q", env)
		})
	}
	t.Run("unset: the latch stays in uboot.txt", func(t *testing.T) {
		b, err := Options{}.OpenBoot(KindUboot, t.TempDir())
		require.NoError(t, err)
		require.Nil(t, b.Latch)
	})
	t.Run("other kinds ignore it", func(t *testing.T) {
		storage := t.TempDir()
		o := Options{UbootLatch: filepath.Join(t.TempDir(), UbootLatchFile)}
		b, err := o.OpenBoot(KindDirect, storage)
		require.NoError(t, err)
		require.Nil(t, b.Latch)
		b, err = o.OpenBoot(KindGrub, storage)
		require.NoError(t, err)
		require.NoError(t, b.Latch.Set(KeyTrying, "1"))
		require.NoError(t, b.Latch.Commit())
		require.FileExists(t, filepath.Join(storage, "boot/grub/grubenv"))
		require.NoFileExists(t, o.UbootLatch)
	})
}
