package disk

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mkext"
	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// setupVolume mounts a volume disk. Without provision: a bind of
// <storage>/pv/volume-disk/<name> onto mount_target or CryptDir(name)
// (upstream's volume_bind). With provision "zram": a new zram device
// formatted ext4 at mount_target. Any other provision: the block device
// at path, formatted only when it holds no ext filesystem yet (upstream
// runs mkfs on every mount, which destroys the data; we do not), mounted
// at mount_target. format must be ext4 or ext3 (both get our ext4-mountable
// format; mkfs format_options cannot be honoured and are a warning).
func setupVolume(d state.Disk, opts Options) (Result, error) {
	if d.Provision == "" {
		return bindVolume(d, opts)
	}
	if d.Format != "ext4" && d.Format != "ext3" {
		return Result{}, printf.Errorf("%w: format %q: want ext4 or ext3", ErrBadDisk, d.Format)
	}
	if d.MountTarget == "" || !filepath.IsAbs(d.MountTarget) {
		return Result{}, printf.Errorf("%w: mount_target %q must be an absolute path", ErrBadDisk, d.MountTarget)
	}
	flags, err := MountFlags(d.MountOptions)
	if err != nil {
		return Result{}, printf.Errorf("%w: mount_options: %w", ErrBadDisk, err)
	}
	var warn []string
	if d.FormatOptions != "" {
		warn = append(warn, printf.Sprintf("format_options %q ignored: formatted without mkfs", d.FormatOptions))
	}
	u := &undoer{}
	var node string
	if d.Provision == ProvisionZram {
		var w []string
		node, w, err = zramDevice(d, opts, u)
		warn = append(warn, w...)
		if err == nil {
			err = formatDevice(node) // a new zram device is always empty
		}
	} else {
		node, err = blockDevice(d)
		if err == nil {
			err = formatIfEmpty(node)
		}
	}
	if err == nil {
		err = mountExt4(node, d.MountTarget, flags, u)
	}
	if err != nil {
		return Result{}, u.fail(err)
	}
	return Result{Mountpoint: d.MountTarget, Device: node, Warnings: warn, Undo: u.run}, nil
}

// formatIfEmpty formats node unless it already holds an ext filesystem.
func formatIfEmpty(node string) error {
	f, err := os.Open(node)
	if err != nil {
		return err
	}
	ok, err := mkext.Formatted(f)
	f.Close()
	if err != nil {
		return printf.Errorf("probing %s: %w", node, err)
	}
	if ok {
		return nil
	}
	return formatDevice(node)
}

// bindVolume is upstream's volume-disk without provision. With NoCreate
// (a dual disk's probe) a backing directory that does not exist yet is
// ErrNotInitialized, as a crypt disk never created.
func bindVolume(d state.Disk, opts Options) (Result, error) {
	backing := filepath.Join(opts.storageDir(), "pv", "volume-disk", d.Name)
	if opts.NoCreate && !exists(backing) {
		return Result{}, printf.Errorf("%w: %s missing", ErrNotInitialized, backing)
	}
	target := d.MountTarget
	if target == "" {
		target = opts.CryptDir(d.Name)
	}
	for _, dir := range []string{backing, target} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Result{}, printf.Errorf("volume disk: %w", err)
		}
	}
	if err := mount.Mount(backing, target, "", unix.MS_BIND, ""); err != nil {
		return Result{}, err
	}
	return Result{Mountpoint: target, Device: backing, Undo: func() error { return mount.Unmount(target, 0) }}, nil
}

// mountFlagNames is upstream's table of volume-disk mount_options.
var mountFlagNames = []struct {
	name string
	flag uintptr
}{
	{"MS_DIRSYNC", unix.MS_DIRSYNC},
	{"MS_LAZYTIME", unix.MS_LAZYTIME},
	{"MS_MANDLOCK", unix.MS_MANDLOCK},
	{"MS_NOATIME", unix.MS_NOATIME},
	{"MS_NODEV", unix.MS_NODEV},
	{"MS_NODIRATIME", unix.MS_NODIRATIME},
	{"MS_NOEXEC", unix.MS_NOEXEC},
	{"MS_NOSUID", unix.MS_NOSUID},
	{"MS_RDONLY", unix.MS_RDONLY},
	{"MS_REC", unix.MS_REC},
	{"MS_RELATIME", unix.MS_RELATIME},
	{"MS_SILENT", unix.MS_SILENT},
	{"MS_STRICTATIME", unix.MS_STRICTATIME},
	{"MS_SYNCHRONOUS", unix.MS_SYNCHRONOUS},
}

// MountFlags turns a volume disk's comma-separated mount_options
// ("MS_NOATIME,MS_NOSUID", blanks ignored) into mount(2) flags. An
// unknown name is an error naming it (upstream ignores it).
func MountFlags(s string) (uintptr, error) {
	var flags uintptr
	s = strings.Join(strings.Fields(s), "")
	for _, name := range strings.Split(s, ",") {
		if name == "" {
			continue
		}
		found := false
		for _, f := range mountFlagNames {
			if f.name == name {
				flags |= f.flag
				found = true
			}
		}
		if !found {
			return 0, printf.Errorf("unknown mount flag %q", name)
		}
	}
	return flags, nil
}
