package storage

import (
	"errors"
	"os"
	"path/filepath"

	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
)

// Per-revision files under trails/<rev>/.pv/.
const (
	ProgressFile  = "progress"  // update progress JSON
	DoneFile      = "done"      // empty marker: the revision was committed
	CommitMsgFile = "commitmsg" // free text from the user
)

// MaxCommitMsg is the longest commit message accepted (upstream: 256 B).
const MaxCommitMsg = 256

func (s *Storage) pvFile(rev, name string) (string, error) {
	if err := CheckRevision(rev); err != nil {
		return "", err
	}
	if !s.HasRevision(rev) {
		return "", printf.Errorf("%w: %s", ErrNoRevision, rev)
	}
	return filepath.Join(s.TrailPath(rev), ".pv", name), nil
}

// writePV atomically writes a file of rev's .pv directory.
func (s *Storage) writePV(rev, name string, data []byte) error {
	p, err := s.pvFile(rev, name)
	if err != nil {
		return err
	}
	if err := s.W.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return s.W.WriteFile(p, data, 0o644)
}

// SetProgress atomically replaces the progress JSON of rev.
func (s *Storage) SetProgress(rev string, progress []byte) error {
	return s.writePV(rev, ProgressFile, progress)
}

// Progress returns the progress JSON of rev (nil, nil when none yet).
func (s *Storage) Progress(rev string) ([]byte, error) {
	p, err := s.pvFile(rev, ProgressFile)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// MarkDone records that rev was committed.
func (s *Storage) MarkDone(rev string) error { return s.writePV(rev, DoneFile, nil) }

// IsDone reports whether rev was committed.
func (s *Storage) IsDone(rev string) bool {
	p, err := s.pvFile(rev, DoneFile)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// SetCommitMsg stores the commit message of rev (at most MaxCommitMsg bytes).
func (s *Storage) SetCommitMsg(rev string, msg []byte) error {
	if len(msg) > MaxCommitMsg {
		return printf.Errorf("commit message of %d bytes, at most %d", len(msg), MaxCommitMsg)
	}
	return s.writePV(rev, CommitMsgFile, msg)
}

// SetCurrent points trails/current (and logs/current) at rev, atomically.
func (s *Storage) SetCurrent(rev string) error {
	if !s.HasRevision(rev) {
		return printf.Errorf("%w: %s", ErrNoRevision, rev)
	}
	if err := s.W.Symlink(rev, s.path("trails", "current")); err != nil {
		return err
	}
	return s.W.Symlink(rev, s.path("logs", "current"))
}

// Current returns the revision trails/current points to.
func (s *Storage) Current() (string, error) {
	rev, err := os.Readlink(s.path("trails", "current"))
	if err != nil {
		return "", err
	}
	return rev, CheckRevision(rev)
}

// VolumePath is where a container volume lives for a persistence:
// disks/perm/<c>/<vol> or disks/rev/<rev>/<c>/<vol>; "" for boot volumes,
// which live in memory. Device-level volumes use container "bsp".
func (s *Storage) VolumePath(persistence, rev, container, volume string) string {
	switch persistence {
	case "permanent":
		return s.path("disks", "perm", container, volume)
	case "revision":
		return s.path("disks", "rev", rev, container, volume)
	}
	return ""
}

// Progress is a revision's update progress (see lib/progress).
type Progress = progress.Progress

// ProgressJSON returns p as upstream's progress JSON; a zero p.Progress
// is taken from the status (WONTGO 100, TESTING 75, ...).
func ProgressJSON(p Progress) []byte {
	if p.Progress == 0 {
		p.Progress = progress.Percent(p.Status)
	}
	return p.Bytes()
}
