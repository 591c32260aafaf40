package mkext

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"pantavisor/lib/loop"
	"pantavisor/lib/mount"
	"pantavisor/lib/testenv"
)

// TestKernelMounts has the kernel's ext4 driver mount what Format wrote:
// files written, unmounted, mounted again and read back, and e2fsck finds
// the filesystem clean after the kernel used it.
func TestKernelMounts(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "e2fsck", "Debian package e2fsprogs")
	for _, size := range []int64{8 * mib, 64 * mib, 1 << 30} {
		t.Run(fmt.Sprintf("%dMiB", size/mib), func(t *testing.T) {
			img, _ := formatFile(t, size, Options{})
			mnt := filepath.Join(t.TempDir(), "mnt")
			if err := os.Mkdir(mnt, 0o755); err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte("pantavisor "), 100000) // 1.1 MB: indirect blocks
			mountExt4(t, img, mnt)
			if err := os.MkdirAll(filepath.Join(mnt, "a/b"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mnt, "a/b/file"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := mount.Unmount(mnt, 0); err != nil {
				t.Fatal(err)
			}
			fsck(t, img)
			mountExt4(t, img, mnt)
			got, err := os.ReadFile(filepath.Join(mnt, "a/b/file"))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("read back %d bytes, %v; want %d", len(got), err, len(data))
			}
			if fi, err := os.Stat(filepath.Join(mnt, "lost+found")); err != nil || !fi.IsDir() {
				t.Errorf("lost+found: %v", err)
			}
			if err := mount.Unmount(mnt, 0); err != nil {
				t.Fatal(err)
			}
			fsck(t, img)
		})
	}
}

// mountExt4 loop-mounts img at mnt with -t ext4 (unmounted at the end).
func mountExt4(t *testing.T, img, mnt string) {
	t.Helper()
	d, err := loop.Attacher{}.Attach(img, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := mount.Mount(d.Path, mnt, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mount.Unmount(mnt, 2) }) // MNT_DETACH if a step failed
}
