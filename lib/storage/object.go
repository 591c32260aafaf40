package storage

import (
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/digest"
	"pantavisor/lib/fsverity"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// hashBufSize is the read size for hashing: large reads keep sha256 (not
// syscalls) the bottleneck on big squashfs objects.
const hashBufSize = 1 << 20

// HasObject reports whether the object sha is stored (under its final name;
// an object there was verified when installed).
func (s *Storage) HasObject(sha string) bool {
	fi, err := os.Stat(s.ObjectPath(sha))
	return err == nil && fi.Mode().IsRegular()
}

// InstallObject stores the object sha from r. size is the expected length,
// or -1 when unknown (a chunked upload); a known size is checked against
// free space first, and while writing the free space is checked again every
// spaceCheckEvery bytes. Steps: stream to a temporary file of a unique name
// (objects/<sha>.<random>.tmp) while hashing, check the length and the hash,
// fsync, enable fs-verity on it (where the storage supports it; see
// verity.go), hard-link it as objects/<sha>, fsync the directory, record
// its fs-verity digest, remove the temporary file. On any error nothing is left. A full disk (ENOSPC,
// EDQUOT or the reserve reached) is an ErrNoSpace error; a content that
// does not hash to sha is an ErrHash error. It returns false when the
// object was already stored (r is then not read), or when a concurrent
// call stored it first: linking never replaces an object a trail may
// already link. Memory use does not depend on the object's size.
func (s *Storage) InstallObject(sha string, size int64, r io.Reader) (added bool, err error) {
	if !state.IsSHA256(sha) {
		return false, printf.Errorf("installing object %q: not a sha256", sha)
	}
	if s.HasObject(sha) {
		return false, nil
	}
	if size > 0 {
		if err := s.CheckSpace(uint64(size)); err != nil {
			return false, printf.Errorf("installing object %s: %w", sha, err)
		}
	}
	final := s.ObjectPath(sha)
	s.W.Point("write " + final + ".tmp")
	f, err := os.CreateTemp(filepath.Dir(final), sha+".*.tmp")
	if err != nil {
		return false, printf.Errorf("installing object %s: %w", sha, noSpace(err))
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := s.writeObject(f, sha, size, r); err != nil {
		return false, printf.Errorf("installing object %s: %w", sha, noSpace(err))
	}
	added, err = s.place(tmp, sha)
	if err != nil {
		return false, printf.Errorf("installing object %s: %w", sha, noSpace(err))
	}
	return added, nil
}

// place makes the complete, checked and fsynced file tmp (in the storage
// filesystem) the object sha: it enables fs-verity on tmp (where
// supported), hard-links it as objects/<sha>, fsyncs the directory and
// records the fs-verity digest. The caller removes tmp. added is false
// when objects/<sha> already existed (a concurrent install won; it is
// never replaced).
func (s *Storage) place(tmp, sha string) (added bool, err error) {
	d, err := s.seal(tmp)
	sealed := err == nil
	if err != nil && !errors.Is(err, fsverity.ErrUnsupported) {
		return false, err
	}
	err = s.W.Link(tmp, s.ObjectPath(sha))
	if errors.Is(err, os.ErrExist) {
		return false, nil // a concurrent upload of the same content won
	}
	if err != nil {
		return false, err
	}
	if sealed {
		// Without the record (a crash here, a full disk) the object
		// is only slower to check: its first check hashes it and
		// records the digest then.
		_ = s.writeRecord(sha, d)
	}
	return true, nil
}

// spaceCheckEvery is how often (in bytes written) InstallObject checks
// that the storage still has room above its reserve.
const spaceCheckEvery = 8 << 20

// writeObject streams r into f (closed on return) while hashing it and
// checks the length, the hash and the free space; then fsyncs f.
func (s *Storage) writeObject(f *os.File, sha string, size int64, r io.Reader) error {
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	h := digest.New()
	buf := make([]byte, hashBufSize)
	var n int64
	var err error
	for err == nil {
		var m int
		m, err = fill(r, buf)
		if m > 0 {
			h.Write(buf[:m])
			if _, werr := f.Write(buf[:m]); werr != nil {
				err = werr
				break
			}
			if n/spaceCheckEvery != (n+int64(m))/spaceCheckEvery {
				if serr := s.CheckSpace(1); serr != nil {
					err = serr
					break
				}
			}
			n += int64(m)
		}
	}
	if err == io.EOF {
		err = nil
		if size >= 0 && n != size {
			err = printf.Errorf("got %d bytes, want %d", n, size)
		}
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != sha {
			err = printf.Errorf("%w: content hashes to %s", ErrHash, got)
		}
	}
	if err != nil {
		f.Close()
		return err
	}
	return s.W.SyncClose(f)
}

// fill reads into buf until it is full or r fails; io.EOF only when r
// itself ends (a truncated body's io.ErrUnexpectedEOF stays an error).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// noSpace marks a full-disk error (ENOSPC, EDQUOT) as ErrNoSpace too.
func noSpace(err error) error {
	if (errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)) && !errors.Is(err, ErrNoSpace) {
		return printf.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// OpenObject opens the stored object sha for reading; an invalid name or
// a missing object is an ErrMissingObject error.
func (s *Storage) OpenObject(sha string) (*os.File, error) {
	if !state.IsSHA256(sha) {
		return nil, printf.Errorf("%w: %q is not a sha256", ErrMissingObject, sha)
	}
	f, err := os.Open(s.ObjectPath(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, printf.Errorf("%w: %s", ErrMissingObject, sha)
	}
	return f, err
}

// ObjectInfo is one stored object.
type ObjectInfo struct {
	SHA  string
	Size int64
}

// Objects lists the stored objects in name order (temporary files of
// uploads in progress are not objects).
func (s *Storage) Objects() ([]ObjectInfo, error) {
	entries, err := os.ReadDir(s.path("objects"))
	if err != nil {
		return nil, err
	}
	out := make([]ObjectInfo, 0, len(entries))
	for _, e := range entries {
		if !state.IsSHA256(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile (GC)
		}
		out = append(out, ObjectInfo{SHA: e.Name(), Size: fi.Size()})
	}
	return out, nil
}

// HashFile returns the hex sha256 of a file's content.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := digest.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, hashBufSize)); err != nil {
		return "", printf.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Space is the room left for new data on the storage filesystem.
type Space struct {
	Total, Free, Reserved uint64 // bytes; Free as statfs reports to us
}

// Available is what may still be written: free space minus the reserve.
func (sp Space) Available() uint64 {
	if sp.Free < sp.Reserved {
		return 0
	}
	return sp.Free - sp.Reserved
}

// Space measures the storage filesystem.
func (s *Storage) Space() (Space, error) {
	avail, total, err := s.statfs(s.Root)
	if err != nil {
		return Space{}, printf.Errorf("statfs %s: %w", s.Root, err)
	}
	return Space{Total: total, Free: avail, Reserved: total * uint64(s.Reserved) / 100}, nil
}

// CheckSpace fails with ErrNoSpace unless need bytes fit above the reserve.
// The message matches upstream's.
func (s *Storage) CheckSpace(need uint64) error {
	sp, err := s.Space()
	if err != nil {
		return err
	}
	if need > sp.Available() {
		return printf.Errorf("%w: Space required %d B, available %d B", ErrNoSpace, need, sp.Available())
	}
	return nil
}
func statfs(path string) (avail, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}
