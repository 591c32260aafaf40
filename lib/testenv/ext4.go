package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Ext4 is an ext4 filesystem image in a test's temporary directory,
// mounted through a loop device at Mnt (unmounted at the test's end).
type Ext4 struct {
	Img, Mnt string
}

// MountExt4 makes an ext4 image of size bytes with 4 KiB blocks and the
// extra mkfs features (e.g. "verity"), and mounts it with mount -o loop.
// It needs root, mkfs.ext4 and a working loop mount.
func MountExt4(t testing.TB, size int64, features ...string) *Ext4 {
	t.Helper()
	RequireRoot(t)
	RequireCommand(t, "mkfs.ext4", "Debian package e2fsprogs")
	dir := t.TempDir()
	e := &Ext4{Img: filepath.Join(dir, "fs.img"), Mnt: filepath.Join(dir, "mnt")}
	must(t, os.Mkdir(e.Mnt, 0o755))
	f, err := os.Create(e.Img)
	must(t, err)
	must(t, f.Truncate(size))
	must(t, f.Close())
	args := []string{"-q", "-F", "-b", "4096"}
	for _, ft := range features {
		args = append(args, "-O", ft)
	}
	out, err := exec.Command("mkfs.ext4", append(args, e.Img)...).CombinedOutput()
	Require(t, err == nil, "mkfs.ext4 "+filepath.Base(e.Img)+" with features "+filepath.Join(features...)+": "+string(out))
	e.Mount(t)
	t.Cleanup(func() { _ = unix.Unmount(e.Mnt, unix.MNT_DETACH) })
	return e
}

// Mount mounts the image at Mnt (again, after Unmount).
func (e *Ext4) Mount(t testing.TB) {
	t.Helper()
	out, err := exec.Command("mount", "-o", "loop", e.Img, e.Mnt).CombinedOutput()
	Require(t, err == nil, "mount -o loop of an ext4 image: "+string(out))
}

// Unmount unmounts Mnt, so the image's bytes can be changed under the
// filesystem (the loop device is freed with the mount: autoclear).
func (e *Ext4) Unmount(t testing.TB) {
	t.Helper()
	must(t, unix.Unmount(e.Mnt, 0))
}
