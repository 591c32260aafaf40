package disk

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
	"pantavisor/lib/swap"
	"pantavisor/lib/zram"
)

// setupSwap turns on a swap disk: a new zram device, a swap file of
// provision_options "size=", or the block device at path. Like upstream
// it writes a fresh swap header every time (mkswap then swapon), and
// mount_options are swapon's (-p N, -d).
func setupSwap(d state.Disk, opts Options) (Result, error) {
	flags, err := swap.ParseFlags(d.MountOptions)
	if err != nil {
		return Result{}, printf.Errorf("%w: mount_options: %w", ErrBadDisk, err)
	}
	var warn []string
	if d.FormatOptions != "" {
		warn = append(warn, printf.Sprintf("format_options %q ignored: the swap header is written without mkswap", d.FormatOptions))
	}
	u := &undoer{}
	var path string
	switch d.Provision {
	case "":
		return Result{}, printf.Errorf("%w: a swap-disk needs a provision (zram, file, or block for the device at path)", ErrBadDisk)
	case ProvisionZram:
		var w []string
		path, w, err = zramDevice(d, opts, u)
		warn = append(warn, w...)
	case ProvisionFile:
		path, err = swapFile(d)
	default:
		path, err = blockDevice(d)
	}
	if err == nil {
		err = writeSwapHeader(path, opts.PageSize)
	}
	if err == nil {
		err = swap.On(path, flags)
	}
	if err != nil {
		return Result{}, u.fail(err)
	}
	u.push(func() error { return swap.Off(path) })
	return Result{Device: path, Warnings: warn, Undo: u.run}, nil
}

// zramDevice gets a zram device configured from provision_options and
// returns its node; u gets its release.
func zramDevice(d state.Disk, opts Options, u *undoer) (string, []string, error) {
	ops, err := zram.ParseOptions(d.ProvisionOptions)
	if err != nil {
		return "", nil, printf.Errorf("%w: provision_options: %w", ErrBadDisk, err)
	}
	z := opts.zram()
	dev, err := z.Get()
	if err != nil {
		return "", nil, err
	}
	u.push(func() error { return z.Release(dev) })
	ws, err := z.Configure(dev, ops)
	var warn []string
	for _, w := range ws {
		warn = append(warn, "provision_options: "+w.Error())
	}
	if err != nil {
		return "", warn, err
	}
	path := z.Path(dev)
	return path, warn, ensureNode(path, filepath.Join(def(opts.Sys, "/sys"), "block", filepath.Base(path), "dev"))
}

// ensureNode makes the block device node path from the "major:minor" in
// the sysfs file devFile, unless devtmpfs already did.
func ensureNode(path, devFile string) error {
	if exists(path) {
		return nil
	}
	b, err := os.ReadFile(devFile)
	if err != nil {
		return printf.Errorf("device node %s: %w", path, err)
	}
	maj, min, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	ma, err1 := strconv.ParseUint(maj, 10, 32)
	mi, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return printf.Errorf("device node %s: %s says %q", path, devFile, b)
	}
	if err := unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(uint32(ma), uint32(mi)))); err != nil && !exists(path) {
		return printf.Errorf("mknod %s: %w", path, err)
	}
	return nil
}

// swapFile makes path a swap file of provision_options "size=" bytes,
// written out (the kernel refuses swap files with holes), unless it
// already has that size.
func swapFile(d state.Disk) (string, error) {
	if d.Path == "" || !filepath.IsAbs(d.Path) {
		return "", printf.Errorf("%w: a swap file needs an absolute path, got %q", ErrBadDisk, d.Path)
	}
	size, err := optionSize(d.ProvisionOptions, "size")
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(d.Path); err == nil && fi.Size() == size && fi.Mode().IsRegular() {
		return d.Path, nil
	}
	if err := os.MkdirAll(filepath.Dir(d.Path), 0o755); err != nil {
		return "", printf.Errorf("creating swap file: %w", err)
	}
	f, err := os.OpenFile(d.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", printf.Errorf("creating swap file: %w", err)
	}
	defer f.Close()
	zero := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zero)) {
		if _, err := f.Write(zero[:min(int64(len(zero)), size-off)]); err != nil {
			return "", printf.Errorf("writing swap file %s: %w", d.Path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return "", printf.Errorf("writing swap file %s: %w", d.Path, err)
	}
	return d.Path, nil
}

// blockDevice checks path names an existing block device.
func blockDevice(d state.Disk) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(d.Path, &st); err != nil {
		return "", printf.Errorf("%w: path %q: %w", ErrBadDisk, d.Path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", printf.Errorf("%w: path %q is not a block device", ErrBadDisk, d.Path)
	}
	return d.Path, nil
}

// writeSwapHeader writes a swap header over the whole of path.
func writeSwapHeader(path string, pageSize int) error {
	if pageSize == 0 {
		pageSize = os.Getpagesize()
	}
	sectors, err := deviceSectors(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return printf.Errorf("swap header: %w", err)
	}
	defer f.Close()
	if err := swap.Write(f, int64(sectors)*512, pageSize, swap.HeaderOptions{}); err != nil {
		return printf.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return printf.Errorf("swap header %s: sync: %w", path, err)
	}
	return nil
}

// optionSize reads key's value from space-separated "k=v" options as a
// size in dd's notation (upstream runs dd bs=<size> count=1): a number
// with an optional suffix K, M, G (powers of 1024) or kB, MB, GB (of 1000).
func optionSize(options, key string) (int64, error) {
	for _, f := range strings.Fields(options) {
		k, v, _ := strings.Cut(f, "=")
		if k == key {
			n, err := parseSize(v)
			if err != nil {
				return 0, printf.Errorf("%w: provision_options %s=%q: %w", ErrBadDisk, key, v, err)
			}
			return n, nil
		}
	}
	return 0, printf.Errorf("%w: provision_options %q has no %s=", ErrBadDisk, options, key)
}

// sizeSuffixes are dd's multipliers, longest first.
var sizeSuffixes = []struct {
	s string
	n int64
}{
	{"kB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"k", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"c", 1}, {"b", 512},
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, x := range sizeSuffixes {
		if t, ok := strings.CutSuffix(s, x.s); ok {
			s, mult = t, x.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, printf.Errorf("not a positive size")
	}
	return n * mult, nil
}
