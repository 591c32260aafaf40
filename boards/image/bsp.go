package image

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// BSPRun is bsp/run.json: the kernel, the initramfs (our init) and the
// modules squashfs, which the device mounts on /lib/modules/<release>.
func BSPRun() map[string]any {
	return map[string]any{"linux": "kernel.img", "initrd": "pantavisor", "modules": "modules.squashfs"}
}

// DeviceJSON is device.json with upstream's four default groups, in start
// order (testdata/conformance/default-groups.json).
func DeviceJSON() map[string]any {
	group := func(name, desc, policy, goal string) map[string]any {
		return map[string]any{"name": name, "description": desc, "restart_policy": policy,
			"timeout": 30, "status_goal": goal}
	}
	app := group("app", "Application level containers", "container", "STARTED")
	app["auto_recovery"] = map[string]any{"policy": "on-failure", "max_retries": 5, "retry_delay": 5,
		"backoff_factor": 2.0, "stable_timeout": 30, "backoff_policy": "reboot"}
	return map[string]any{"groups": []any{
		group("data", "Containers which volumes we want to mount but not to be started", "system", "MOUNTED"),
		group("root", "Container or containers that are in charge of setting network connectivity up for the board", "system", "STARTED"),
		group("platform", "Middleware and utility containers", "system", "STARTED"),
		app,
	}}
}

// modulesSquashfs returns work/modules.squashfs made from modDir (a
// lib/modules/<release> directory, all of it), building it only when its
// key (directory, file count and bytes) changed since the last build:
//  1. hard-link the tree into work/modules/lib/modules/<release>;
//  2. depmod -b there: Debian's package ships no modules.dep (its
//     postinst makes it), and modprobe on the device needs one;
//  3. mksquashfs that <release> directory with xz.
func modulesSquashfs(ctx context.Context, work, modDir string) (string, error) {
	out := filepath.Join(work, "modules.squashfs")
	key, err := treeKey(modDir)
	if err != nil {
		return "", err
	}
	if old, err := os.ReadFile(out + ".key"); err == nil && string(old) == key {
		if _, err := os.Stat(out); err == nil {
			return out, nil
		}
	}
	rel := filepath.Base(modDir)
	stage := filepath.Join(work, "modules")
	if err := os.RemoveAll(stage); err != nil {
		return "", err
	}
	dst := filepath.Join(stage, "lib", "modules", rel)
	if err := linkTree(modDir, dst); err != nil {
		return "", err
	}
	if err := run(ctx, "", "depmod", "-b", stage, rel); err != nil {
		return "", err
	}
	os.Remove(out + ".key")
	if err := squash(ctx, dst, out, "-comp", "xz"); err != nil {
		return "", err
	}
	if err := os.RemoveAll(stage); err != nil {
		return "", err
	}
	return out, os.WriteFile(out+".key", []byte(key), 0o644)
}

// treeKey identifies a directory tree's content cheaply: its absolute
// path, file count and total size.
func treeKey(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var n, size int64
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n++
		size += fi.Size()
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("kernel modules: %w", err)
	}
	return fmt.Sprintf("%s %d files %d bytes\n", abs, n, size), nil
}

// linkTree recreates src's directories under dst and hard-links (or, across
// filesystems, copies) its regular files; symlinks are copied as links.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			if err := os.Link(p, to); err != nil {
				return copyFileStream(p, to)
			}
			return nil
		default:
			return fmt.Errorf("%s: not a regular file, directory or symlink", p)
		}
	})
}
