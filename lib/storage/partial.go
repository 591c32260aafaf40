package storage

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// Partial objects. A download in progress lives in partial/<sha>, beside
// objects/ on the same filesystem (so installing it is a hard link, and
// neither upstream's collector nor anything listing objects/ ever sees
// it). Its size is how far it got: the downloader fsyncs what it wrote
// before it relies on it, and checks the sha256 of the whole content
// before InstallPartial, so a torn tail after a power cut is caught there.
// Open leaves partials alone (they are the point of resuming); GC removes
// those of objects no remaining revision or GCOptions keeps.

// partialDir holds the partial objects, beside objects/.
const partialDir = "partial"

// PartialPath is where a download of object sha in progress is kept. It
// does not check sha; OpenPartial does.
func (s *Storage) PartialPath(sha string) string { return s.path(partialDir, sha) }

// OpenPartial opens (creating it empty if needed) the partial object sha
// for reading and writing, positioned at its start. sha must be a sha256
// (64 lowercase hex digits), checked before any file operation; a
// symbolic link or other non-regular file in its place is refused.
func (s *Storage) OpenPartial(sha string) (*os.File, error) {
	if !state.IsSHA256(sha) {
		return nil, printf.Errorf("opening partial object %q: not a sha256", sha)
	}
	if err := s.W.MkdirAll(s.path(partialDir), 0o755); err != nil {
		return nil, printf.Errorf("opening partial object %s: %w", sha, noSpace(err))
	}
	f, err := os.OpenFile(s.PartialPath(sha), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
	if errors.Is(err, unix.EPERM) {
		// Sealed by an InstallPartial a crash cut short (fs-verity
		// files refuse writers): start it again.
		if err = s.RemovePartial(sha); err == nil {
			f, err = os.OpenFile(s.PartialPath(sha), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
		}
	}
	if err != nil {
		return nil, printf.Errorf("opening partial object %s: %w", sha, noSpace(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, printf.Errorf("opening partial object %s: not a regular file", sha)
	}
	return f, nil
}

// PartialSize is the size of the partial object sha, 0 when there is none
// (or sha is not a sha256).
func (s *Storage) PartialSize(sha string) int64 {
	if !state.IsSHA256(sha) {
		return 0
	}
	fi, err := os.Lstat(s.PartialPath(sha))
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}

// RemovePartial removes the partial object sha (none is not an error) and
// fsyncs its directory.
func (s *Storage) RemovePartial(sha string) error {
	if !state.IsSHA256(sha) {
		return printf.Errorf("removing partial object %q: not a sha256", sha)
	}
	err := os.Remove(s.PartialPath(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return printf.Errorf("removing partial object %s: %w", sha, err)
	}
	return s.W.SyncDir(s.path(partialDir))
}

// InstallPartial makes the complete partial object sha the object sha,
// through the same steps as InstallObject: fs-verity on it where the
// storage supports it, a hard link as objects/<sha>, the directory
// fsynced, the digest recorded; then the partial is removed. The caller
// guarantees the partial is complete, fsynced and hashes to sha (it
// checked while writing); InstallPartial does not read it again. added is
// false when the object was already stored (the partial is removed all
// the same).
func (s *Storage) InstallPartial(sha string) (added bool, err error) {
	if !state.IsSHA256(sha) {
		return false, printf.Errorf("installing partial object %q: not a sha256", sha)
	}
	p := s.PartialPath(sha)
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		return false, printf.Errorf("installing partial object %s: no partial file", sha)
	}
	if !s.HasObject(sha) {
		if added, err = s.place(p, sha); err != nil {
			return false, printf.Errorf("installing partial object %s: %w", sha, noSpace(err))
		}
	}
	return added, s.RemovePartial(sha)
}

// removeStalePartials is GC's step for partial objects: it removes those
// of objects not in keep, or already stored, and any other file there,
// except (when since is not zero) those written at or after since.
func (s *Storage) removeStalePartials(keep map[string]bool, since time.Time) (n int, bytes int64, err error) {
	if _, err := os.Stat(s.path(partialDir)); errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil // no download ever started; a missing objects/ stays an error
	}
	return s.removeFiles(partialDir, since, func(name string, _ os.FileInfo) bool {
		return !keep[name] || s.HasObject(name)
	})
}
