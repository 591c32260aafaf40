package disk

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/dm"
	"pantavisor/lib/loop"
	"pantavisor/lib/mkext"
	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// CryptPath is a crypt disk's "path", upstream's
// "<dir>/<image>,<size-in-MiB>,<keyname>", resolved to files.
type CryptPath struct {
	Dir      string // the directory of image, key and marker
	Image    string // <dir>/<image>: the encrypted ext4 image
	SizeMiB  int64  // the image size on creation (dd bs=1M count=<size>)
	Key      string // <dir>/<keyname>.txt: versatile's key, 32 raw bytes, PLAINTEXT on storage (upstream's model)
	InitDone string // <dir>/<keyname>.init_done: key and image complete
	DMName   string // the mapping name: the image name up to its first "."
}

// ParseCryptPath reads upstream's path format, e.g.
// "/storage/dm-crypt-files/secrets/versatile.img,2,versatile_key".
func ParseCryptPath(p string) (CryptPath, error) {
	dir, base := filepath.Split(p)
	f := strings.Split(base, ",")
	if len(f) != 3 || f[0] == "" || f[2] == "" || !filepath.IsAbs(dir) {
		return CryptPath{}, printf.Errorf("%w: path %q: want /<dir>/<image>,<size-in-MiB>,<keyname>", ErrBadDisk, p)
	}
	size, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || size <= 0 || size > 1<<20 {
		return CryptPath{}, printf.Errorf("%w: path %q: size %q is not a number of MiB", ErrBadDisk, p, f[1])
	}
	name, _, _ := strings.Cut(f[0], ".")
	if name == "" {
		return CryptPath{}, printf.Errorf("%w: path %q: image name %q gives no device name", ErrBadDisk, p, f[0])
	}
	dir = filepath.Clean(dir)
	return CryptPath{
		Dir: dir, Image: filepath.Join(dir, f[0]), SizeMiB: size,
		Key: filepath.Join(dir, f[2]+".txt"), InitDone: filepath.Join(dir, f[2]+".init_done"), DMName: name,
	}, nil
}

// setupVersatile mounts a dm-crypt-versatile disk at CryptDir(name), as
// upstream's crypt script does with cryptsetup. Steps: unless InitDone
// exists, create the key and the formatted image (initVersatile); read
// the key; attach the image to a loop device; map it through dm-crypt
// (aes-cbc-essiv:sha256, the key as is, plain mode: no header); check it
// holds ext4 (a wrong key or a corrupt image is an error: never
// reformatted); mount it noatime.
func setupVersatile(d state.Disk, opts Options) (Result, error) {
	cp, err := ParseCryptPath(d.Path)
	if err != nil {
		return Result{}, err
	}
	if !exists(cp.InitDone) {
		if opts.NoCreate {
			return Result{}, printf.Errorf("%w: %s missing", ErrNotInitialized, cp.InitDone)
		}
		if err := initVersatile(cp, opts); err != nil {
			return Result{}, err
		}
	}
	key, err := readKey(cp.Key)
	if err != nil {
		return Result{}, err
	}
	u := &undoer{}
	node, err := openCrypt(cp.Image, cp.DMName, key, opts, u)
	clear(key)
	if err != nil {
		return Result{}, u.fail(err)
	}
	if err := checkFormatted(node); err != nil {
		return Result{}, u.fail(printf.Errorf("%s: %w (wrong key or corrupt image; not reformatted)", cp.Image, err))
	}
	mnt := opts.CryptDir(d.Name)
	if err := mountExt4(node, mnt, unix.MS_NOATIME, u); err != nil {
		return Result{}, u.fail(err)
	}
	return Result{Mountpoint: mnt, Device: node, Undo: u.run}, nil
}

// initVersatile is upstream's do_crypt_init for versatile: a new random
// key (tmp, sync, rename) unless one exists; a new image unless one
// exists: <image>.new, sparse, mapped and formatted, then renamed; and
// the InitDone marker last. Each step is safe to repeat after a power
// loss.
func initVersatile(cp CryptPath, opts Options) error {
	if err := os.MkdirAll(cp.Dir, 0o700); err != nil {
		return printf.Errorf("creating crypt dir: %w", err)
	}
	if !exists(cp.Key) {
		if err := newKey(cp.Key, opts); err != nil {
			return err
		}
	}
	if !exists(cp.Image) {
		if err := newImage(cp, opts); err != nil {
			return err
		}
	}
	return writeFileSync(cp.InitDone, nil, 0o600)
}

// newKey writes dm.CryptKeySize random bytes to path: from opts.Random,
// else /dev/hwrng when it gives them, else the kernel's random source.
func newKey(path string, opts Options) error {
	key := make([]byte, dm.CryptKeySize)
	defer clear(key)
	if err := randomKey(key, opts); err != nil {
		return printf.Errorf("creating key %s: %w", path, err)
	}
	return writeFileSync(path, key, 0o600)
}

func randomKey(key []byte, opts Options) error {
	if opts.Random != nil {
		_, err := io.ReadFull(opts.Random, key)
		return err
	}
	if f, err := os.Open(filepath.Join(opts.dev(), "hwrng")); err == nil {
		_, err = io.ReadFull(f, key)
		f.Close()
		if err == nil {
			return nil
		}
	}
	_, err := rand.Read(key) // getrandom(2): the kernel's random source
	return err
}

// readKey reads the first dm.CryptKeySize bytes of a versatile key file
// (cryptsetup -s 256 --key-file reads exactly that many).
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, printf.Errorf("reading crypt key: %w", err)
	}
	if len(b) < dm.CryptKeySize {
		clear(b)
		return nil, printf.Errorf("crypt key %s: %d bytes, want %d", path, len(b), dm.CryptKeySize)
	}
	return b[:dm.CryptKeySize], nil
}

// newImage creates <image>.new of SizeMiB (sparse: the encrypted zeros
// are never read before written), formats it through the mapping and
// renames it into place.
func newImage(cp CryptPath, opts Options) error {
	tmp := cp.Image + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return printf.Errorf("creating image: %w", err)
	}
	err = f.Truncate(cp.SizeMiB << 20)
	f.Close()
	if err != nil {
		return printf.Errorf("sizing image %s: %w", tmp, err)
	}
	key, err := readKey(cp.Key)
	if err != nil {
		return err
	}
	u := &undoer{}
	node, err := openCrypt(tmp, cp.DMName, key, opts, u)
	clear(key)
	if err == nil {
		err = formatDevice(node)
	}
	if uerr := u.run(); err == nil && uerr != nil {
		err = uerr
	}
	if err != nil {
		return u.fail(err)
	}
	if err := os.Rename(tmp, cp.Image); err != nil {
		return printf.Errorf("installing image: %w", err)
	}
	return syncDir(cp.Dir)
}

// openCrypt attaches image to a loop device and maps it through dm-crypt
// as name; u gets the undo steps. A stale mapping of that name (a crash
// before its removal) is removed first, as upstream's clean_disk.
func openCrypt(image, name string, key []byte, opts Options, u *undoer) (string, error) {
	ctl := dm.Control{Dev: opts.Dev}
	if _, err := ctl.Status(name); err == nil {
		if err := ctl.Remove(name); err != nil {
			return "", printf.Errorf("removing stale mapping: %w", err)
		}
	}
	lo, err := loop.Attacher{Dev: opts.Dev}.Attach(image, false)
	if err != nil {
		return "", err
	}
	// autoclear: the loop device goes when the mapping releases it
	defer lo.Close()
	sectors, err := deviceSectors(lo.Path)
	if err != nil {
		return "", err
	}
	table, err := dm.CryptTable(dm.CryptCipher, key, lo.Path)
	if err != nil {
		return "", err
	}
	node, err := ctl.Create(name, sectors, "crypt", table)
	if err != nil {
		return "", err
	}
	u.push(func() error { return ctl.Remove(name) })
	return node, nil
}

// checkFormatted fails unless node holds an ext filesystem.
func checkFormatted(node string) error {
	f, err := os.Open(node)
	if err != nil {
		return err
	}
	defer f.Close()
	ok, err := mkext.Formatted(f)
	if err != nil {
		return printf.Errorf("probing %s: %w", node, err)
	}
	if !ok {
		return printf.Errorf("%s holds no ext4 filesystem", node)
	}
	return nil
}

// formatDevice formats a block device or file with mkext over its whole
// size, with blocks no smaller than the device's logical block, and
// syncs it.
func formatDevice(node string) error {
	f, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return printf.Errorf("formatting: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return printf.Errorf("sizing %s: %w", node, err)
	}
	var mo mkext.Options
	if lbs, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET); err == nil {
		// the filesystem block must not be below the device's logical
		// block (zram's is 4096: ext4 refuses 1 KiB blocks on it)
		if l, err := mkext.NewLayout(size, 0); err == nil && int64(lbs) > l.BlockSize {
			mo.BlockSize = int64(lbs)
		}
	}
	if _, err := mkext.Format(f, size, mo); err != nil {
		return printf.Errorf("formatting %s: %w", node, err)
	}
	if err := f.Sync(); err != nil {
		return printf.Errorf("formatting %s: sync: %w", node, err)
	}
	return nil
}

// mountExt4 mounts node at mnt (created) with flags; u gets the unmount
// and the removal of the then empty mount point (upstream rm -r's it).
func mountExt4(node, mnt string, flags uintptr, u *undoer) error {
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return printf.Errorf("creating mount point: %w", err)
	}
	if err := mount.Mount(node, mnt, "ext4", flags, ""); err != nil {
		return err
	}
	u.push(func() error {
		if err := mount.Unmount(mnt, 0); err != nil {
			return err
		}
		return os.Remove(mnt)
	})
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// errNotBlock: deviceSectors on something that is neither block device
// nor file.
var errNotBlock error = &sentinel.Error{Text: "not a block device or file"}
