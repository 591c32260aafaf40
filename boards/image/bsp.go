package image

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BSPRun is bsp/run.json: the kernel, the initramfs (our init) and the
// modules squashfs, which the device mounts on /lib/modules/<release>.
func BSPRun() map[string]any {
	return map[string]any{"linux": "kernel.img", "initrd": "pantavisor", "modules": "modules.squashfs"}
}

// DeviceJSON is device.json with upstream's four default groups, in start
// order (testdata/conformance/default-groups.json), and the demo's
// network pool (DemoPools).
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
	}, "network": DemoPools()}
}

// modulesSquashfs returns work/modules.squashfs made from modDir (a
// lib/modules/<release> directory) with the modules keep selects (see
// boards.Board.BSPModules; empty keeps all), building it only when its
// key (directory, file count and bytes, keep) changed since the last
// build:
//  1. hard-link the tree into work/modules/lib/modules/<release>;
//  2. depmod -b there: Debian's package ships no modules.dep (its
//     postinst makes it), and modprobe on the device needs one;
//  3. with keep, remove the modules neither kept nor a dependency of a
//     kept one, then depmod again for the smaller tree;
//  4. mksquashfs that <release> directory with xz.
func modulesSquashfs(ctx context.Context, work, modDir string, keep []string) (string, error) {
	out := filepath.Join(work, "modules.squashfs")
	key, err := treeKey(modDir)
	if err != nil {
		return "", err
	}
	if len(keep) > 0 {
		key += "keep " + strings.Join(keep, " ") + "\n"
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
	if len(keep) > 0 {
		if err := pruneModules(dst, keep); err != nil {
			return "", err
		}
		if err := run(ctx, "", "depmod", "-b", stage, rel); err != nil {
			return "", err
		}
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

// pruneModules removes from the release directory dir every module
// (.ko, .ko.xz, ...) that no keep path selects, directly or as a
// dependency in dir's modules.dep, and the directories left empty. A
// keep path that selects nothing is an error: a typo in board.json must
// not ship a BSP without the module it names.
func pruneModules(dir string, keep []string) error {
	deps, err := readModulesDep(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, k := range keep {
		k = strings.Trim(filepath.ToSlash(filepath.Clean(k)), "/")
		n := 0
		for mod, ds := range deps {
			if mod != k && !strings.HasPrefix(mod, k+"/") {
				continue
			}
			n++
			kept[mod] = true
			for _, d := range ds {
				kept[d] = true
			}
		}
		if n == 0 {
			return fmt.Errorf("bsp_modules: %q selects no module of %s", k, dir)
		}
	}
	for mod := range deps {
		if !kept[mod] {
			if err := os.Remove(filepath.Join(dir, mod)); err != nil {
				return err
			}
		}
	}
	return removeEmptyDirs(filepath.Join(dir, "kernel"))
}

// readModulesDep parses depmod's modules.dep: "mod: dep dep ...", each
// module with its whole dependency chain, paths relative to the release.
func readModulesDep(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		deps[strings.TrimSpace(mod)] = strings.Fields(rest)
	}
	return deps, nil
}

// removeEmptyDirs removes the directories under root (root included)
// that hold no file, deepest first.
func removeEmptyDirs(root string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeEmptyDirs(filepath.Join(root, e.Name())); err != nil {
				return err
			}
		}
	}
	if ents, err = os.ReadDir(root); err == nil && len(ents) == 0 {
		return os.Remove(root)
	}
	return err
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
