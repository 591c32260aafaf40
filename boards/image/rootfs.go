package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File is one file written into a container rootfs.
type File struct {
	Path string      // relative to the rootfs root
	Mode os.FileMode // 0644 or 0755
	Data string
}

// rootfsDirs are the directories every container rootfs has: mount points
// for lxc.mount.auto, /dev, /run and the /pantavisor mounts, and /app for
// the init script.
var rootfsDirs = []string{"bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run",
	"etc", "root", "var/log", "app", "pantavisor"}

// baseFiles are in every container rootfs.
var baseFiles = []File{
	{"etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n"},
	{"etc/group", 0o644, "root:x:0:\n"},
}

// busyboxApplets returns the applet paths (bin/sh, usr/sbin/httpd, …) the
// busybox binary answers to, from busybox --list-full. It runs busybox, so
// the binary must be of the host's architecture.
func busyboxApplets(ctx context.Context, busybox string) ([]string, error) {
	out, err := output(ctx, busybox, "--list-full")
	if err != nil {
		return nil, err
	}
	var applets []string
	for _, l := range strings.Fields(string(out)) {
		if l = strings.Trim(l, "/"); l != "" && l != "bin/busybox" && filepath.IsLocal(l) {
			applets = append(applets, l)
		}
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("%s --list-full: no applets", busybox)
	}
	return applets, nil
}

// buildRootfs writes a busybox root filesystem into dir (which must not
// exist): rootfsDirs, bin/busybox with a symlink per applet, baseFiles,
// then files.
func buildRootfs(dir, busybox string, applets []string, files []File) error {
	for _, d := range rootfsDirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := copyFile(busybox, filepath.Join(dir, "bin", "busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		p := filepath.Join(dir, a)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", p); err != nil {
			return fmt.Errorf("applet link: %w", err)
		}
	}
	for _, f := range append(append([]File{}, baseFiles...), files...) {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("rootfs file %q: not a relative path inside the rootfs", f.Path)
		}
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.Data), f.Mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.Mode); err != nil { // not masked by the umask
			return err
		}
	}
	return nil
}

// squash makes a squashfs image of dir: every file owned by root, every
// timestamp 0, so the same tree gives the same bytes (and the same object).
func squash(ctx context.Context, dir, out string, extra ...string) error {
	args := append([]string{dir, out, "-noappend", "-quiet", "-no-progress", "-all-root",
		"-all-time", "0", "-mkfs-time", "0"}, extra...)
	return run(ctx, "", "mksquashfs", args...)
}

// copyFile copies src to dst (created with mode).
func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}
