// Package persist makes writes to the storage survive power cuts: every
// small file goes through one atomic-write helper, and every step that
// makes something durable is a named crash point tests can stop at.
package persist

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Writer performs durable writes. Crash, when set, is called with the name
// of each persistence step right before it happens; tests make it stop the
// process dead to simulate a power cut at that step. The zero Writer has
// no crash points.
type Writer struct {
	Crash func(point string)
}

// Point announces persistence step name to the crash hook.
func (w *Writer) Point(name string) {
	if w != nil && w.Crash != nil {
		w.Crash(name)
	}
}

// WriteFile replaces path with data atomically. Steps: write path.tmp,
// fsync it, rename it over path, fsync the directory. After a crash, path
// holds either the old or the new content, never a mix; a stale path.tmp
// may remain and is ignored by readers.
func (w *Writer) WriteFile(path string, data []byte, perm os.FileMode) error {
	return w.WriteFileVia(path, path+".tmp", data, perm)
}

// WriteFileVia is WriteFile with an explicit temporary file (in the same
// directory), for directories where "<name>.tmp" could be a real name.
func (w *Writer) WriteFileVia(path, tmp string, data []byte, perm os.FileMode) error {
	w.Point("write " + tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return printf.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return printf.Errorf("writing %s: %w", tmp, err)
	}
	if err := w.SyncClose(f); err != nil {
		os.Remove(tmp)
		return err
	}
	return w.Rename(tmp, path)
}

// SyncClose fsyncs and closes f (the crash point is before the fsync).
func (w *Writer) SyncClose(f *os.File) error {
	w.Point("fsync " + f.Name())
	if err := f.Sync(); err != nil {
		f.Close()
		return printf.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return printf.Errorf("closing %s: %w", f.Name(), err)
	}
	return nil
}

// Rename renames oldpath to newpath and fsyncs newpath's directory (and
// oldpath's, when it differs): a rename is durable only then.
func (w *Writer) Rename(oldpath, newpath string) error {
	w.Point("rename " + newpath)
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	if err := w.SyncDir(filepath.Dir(newpath)); err != nil {
		return err
	}
	if d := filepath.Dir(oldpath); d != filepath.Dir(newpath) {
		return w.SyncDir(d)
	}
	return nil
}

// Link hard-links oldpath at newpath and fsyncs newpath's directory. An
// existing newpath is an error (os.IsExist).
func (w *Writer) Link(oldpath, newpath string) error {
	w.Point("link " + newpath)
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	return w.SyncDir(filepath.Dir(newpath))
}

// Symlink atomically points newpath at target (replacing newpath).
func (w *Writer) Symlink(target, newpath string) error {
	tmp := newpath + ".tmp"
	os.Remove(tmp)
	w.Point("symlink " + tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return w.Rename(tmp, newpath)
}

// MkdirAll creates dir and its missing parents, fsyncing each parent that
// gained an entry, so the new directories survive a power cut.
func (w *Writer) MkdirAll(dir string, perm os.FileMode) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return printf.Errorf("creating %s: %w", dir, unix.ENOTDIR)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := w.MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	w.Point("mkdir " + dir)
	if err := os.Mkdir(dir, perm); err != nil && !os.IsExist(err) {
		return err
	}
	return w.SyncDir(parent)
}

// SyncDir fsyncs a directory so entries added, renamed or removed in it
// are durable.
func (w *Writer) SyncDir(dir string) error {
	w.Point("fsync " + dir)
	f, err := os.Open(dir)
	if err != nil {
		return printf.Errorf("syncing directory %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return printf.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
