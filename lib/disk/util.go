package disk

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// undoer collects undo steps and runs them in reverse.
type undoer struct{ steps []func() error }

func (u *undoer) push(f func() error) { u.steps = append(u.steps, f) }

// run undoes every step, last first, and joins their errors; it is
// idempotent (the steps are dropped).
func (u *undoer) run() error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		errs = append(errs, u.steps[i]())
	}
	u.steps = nil
	return errors.Join(errs...)
}

// fail undoes and returns err with any undo error joined.
func (u *undoer) fail(err error) error {
	if uerr := u.run(); uerr != nil {
		return errors.Join(err, printf.Errorf("undoing: %w", uerr))
	}
	return err
}

// writeFileSync writes path atomically: path.tmp, fsync, rename, fsync
// of the directory (upstream's tmp + sync + mv).
func writeFileSync(path string, b []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return printf.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return printf.Errorf("writing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return printf.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return printf.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// deviceSectors is the size of a block device or file in 512-byte sectors.
func deviceSectors(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, printf.Errorf("stat %s: %w", path, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return uint64(st.Size) / 512, nil
	case unix.S_IFBLK:
		n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
		if err != nil {
			return 0, printf.Errorf("BLKGETSIZE64 %s: %w", path, err)
		}
		return n / 512, nil
	}
	return 0, printf.Errorf("%s: %w", path, errNotBlock)
}
