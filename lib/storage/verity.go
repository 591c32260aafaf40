package storage

import (
	"errors"
	"os"
	"path/filepath"

	"pantavisor/lib/fsverity"
	"pantavisor/lib/printf"
)

// Objects and fs-verity. An object whose content was checked against its
// sha256 (streamed at install, or hashed in full at its first boot check)
// gets fs-verity, and the digest the kernel then measures is recorded in
// verity/<sha> ("sha256:<hex>\n", written atomically). Later checks
// measure the object's digest (constant time) and compare it with the
// record instead of hashing its bytes; the kernel checks every block when
// it is read (EIO for a corrupt one) and refuses writes to the file.
//
// Threat model. fs-verity protects the object's bytes: a flipped bit, a
// torn write, a later write through the filesystem (refused) or to the
// raw device under it (the read fails, or, with the Merkle tree rewritten
// too, the digest no longer matches the record). The record sits on the
// same storage and is exactly as trustworthy as it: whoever can write the
// storage offline can replace an object by a verity file of other content
// and rewrite its record, and the boot check then passes; that attacker
// could equally rewrite the trail's state today, and once states are
// signed the records must be authenticated too (a sealed key, or
// fs-verity built-in signatures) before they may stand in for the hash.
// Without a record, or with a record but no verity on the file (replaced,
// restored from a backup, installed by another tool), the check falls
// back to the full hash: a record alone never skips checking. A record
// that does not parse is ignored the same way; one that parses and
// differs from the measured digest is a checksum failure.

// verityDir holds the records, beside objects/ (upstream's collector,
// which removes every objects/ entry no trail links, never sees them).
const verityDir = "verity"

// verityOps is the fs-verity seam: the lib/fsverity calls by default.
type verityOps struct {
	enable  func(path string) error
	measure func(path string) (fsverity.Digest, error)
}

var kernelVerity = verityOps{enable: fsverity.Enable, measure: fsverity.Measure}

func (s *Storage) verityRecord(sha string) string { return s.path(verityDir, sha) }

// seal enables fs-verity on the file at path and returns its digest.
func (s *Storage) seal(path string) (fsverity.Digest, error) {
	if err := s.verity.enable(path); err != nil {
		return fsverity.Digest{}, err
	}
	return s.verity.measure(path)
}

// writeRecord records d as the fs-verity digest of object sha.
func (s *Storage) writeRecord(sha string, d fsverity.Digest) error {
	if err := s.W.MkdirAll(s.path(verityDir), 0o755); err != nil {
		return err
	}
	return s.W.WriteFile(s.verityRecord(sha), []byte(d.String()+"\n"), 0o644)
}

// readRecord returns the recorded digest of object sha; a missing or
// unreadable record is an error (the caller then hashes).
func (s *Storage) readRecord(sha string) (fsverity.Digest, error) {
	data, err := os.ReadFile(s.verityRecord(sha))
	if err != nil {
		return fsverity.Digest{}, err
	}
	if len(data) > 200 {
		return fsverity.Digest{}, printf.Errorf("%w: record of %d bytes", fsverity.ErrBadDigest, len(data))
	}
	return fsverity.Parse(string(data))
}

// objectCheck is the outcome of checking one object's content.
type objectCheck struct {
	err       error // the content is not the object's (or unreadable)
	measured  bool  // checked by fs-verity digest, not hashed
	sealed    bool  // hashed, then given fs-verity and a record
	verityErr error // why fs-verity was not used (not a failure)
}

// checkContent checks that the file p holds object sha. Steps: with a
// record and fs-verity on the file, compare the measured digest with the
// record (done); otherwise enable fs-verity first (so the content cannot
// change between the hash and the record), hash the file, and on a match
// measure and record the digest. copy is a ".bind" copy: writable, never
// sealed, always hashed.
func (s *Storage) checkContent(p, sha string, copy bool) (c objectCheck) {
	if !copy {
		rec, rerr := s.readRecord(sha)
		got, merr := s.verity.measure(p)
		if rerr == nil && merr == nil {
			c.measured = true
			if !got.Equal(rec) {
				c.err = printf.Errorf("%w: fs-verity digest %s, recorded %s", ErrHash, got, rec)
			}
			return c
		}
		c.verityErr = s.verity.enable(p)
	}
	got, err := HashFile(p)
	if err == nil && got != sha {
		err = printf.Errorf("%w: want %s, got %s", ErrHash, sha, got)
	}
	if c.err = err; err != nil || copy || c.verityErr != nil {
		return c
	}
	d, err := s.verity.measure(p)
	if err == nil {
		err = s.writeRecord(sha, d)
	}
	c.sealed, c.verityErr = err == nil, err
	return c
}

// removeStaleRecords removes the records whose object is gone.
func (s *Storage) removeStaleRecords() error {
	entries, err := os.ReadDir(s.path(verityDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	removed := false
	for _, e := range entries {
		if _, err := os.Lstat(s.ObjectPath(e.Name())); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.Remove(filepath.Join(s.path(verityDir), e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		removed = true
	}
	if removed {
		return s.W.SyncDir(s.path(verityDir))
	}
	return nil
}
