package storage

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"pantavisor/lib/digest"
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
// or -1 when unknown; it is checked against free space first. Steps: stream
// to objects/<sha>.tmp while hashing, check the hash, fsync, rename to
// objects/<sha>, fsync the directory. On any error nothing is left. It
// returns false when the object was already stored (r is not read).
func (s *Storage) InstallObject(sha string, size int64, r io.Reader) (added bool, err error) {
	if !state.IsSHA256(sha) {
		return false, fmt.Errorf("installing object %q: not a sha256", sha)
	}
	if s.HasObject(sha) {
		return false, nil
	}
	if size > 0 {
		if err := s.CheckSpace(uint64(size)); err != nil {
			return false, fmt.Errorf("installing object %s: %w", sha, err)
		}
	}
	final := s.ObjectPath(sha)
	tmp := final + ".tmp"
	s.W.Point("write " + tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return false, fmt.Errorf("installing object %s: %w", sha, err)
	}
	h := digest.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), r, make([]byte, hashBufSize))
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("got %d bytes, want %d", n, size)
	}
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != sha {
			err = fmt.Errorf("%w: content hashes to %s", ErrHash, got)
		}
	}
	if err == nil {
		err = s.W.SyncClose(f)
	} else {
		f.Close()
	}
	if err == nil {
		err = s.W.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("installing object %s: %w", sha, err)
	}
	return true, nil
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
		return "", fmt.Errorf("hashing %s: %w", path, err)
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
		return Space{}, fmt.Errorf("statfs %s: %w", s.Root, err)
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
		return fmt.Errorf("%w: Space required %d B, available %d B", ErrNoSpace, need, sp.Available())
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
