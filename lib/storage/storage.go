// Package storage owns the on-disk layout of a Pantavisor storage
// (objects, trails, progress files, volumes), compatible with upstream so an
// existing device's /storage works: installing revisions, checking their
// integrity and collecting garbage, with every write power-cut safe.
package storage

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Errors callers branch on.
var (
	ErrBadRevision   error = &sentinel.Error{Text: "invalid revision name"}
	ErrRevisionExist error = &sentinel.Error{Text: "revision already exists"}
	ErrNoRevision    error = &sentinel.Error{Text: "no such revision"}
	ErrHash          error = &sentinel.Error{Text: "checksum mismatch"}
	ErrMissingObject error = &sentinel.Error{Text: "missing object"}
	ErrNoSpace       error = &sentinel.Error{Text: "not enough space"}
	ErrNoStorage     error = &sentinel.Error{Text: "no storage there (no trails directory)"}
)

// Storage is a storage directory (/storage on a device). Create it with
// Open.
type Storage struct {
	Root       string // the directory
	DevicePath string // where Root is mounted on the device; "/storage" by default
	Reserved   int    // percent of the filesystem kept free (PV_STORAGE_GC_RESERVED, default 5)
	W          *persist.Writer

	// statfs reports (available, total) bytes; a seam for tests.
	statfs func(path string) (avail, total uint64, err error)
	// verity enables and measures fs-verity; a seam for tests.
	verity verityOps

	stepMu sync.Mutex // serialises PutState's replacement of a trail
}

// Options configure Open; the zero value means the upstream defaults.
type Options struct {
	DevicePath string
	Reserved   int
	Writer     *persist.Writer
	// Existing refuses a root that is not a storage yet (no trails/) with
	// ErrNoStorage and creates nothing, for users of installed revisions.
	Existing bool
}

// Open creates the storage layout under root if needed (not with
// Existing) and removes what an interrupted write left behind (staging
// trails, *.tmp objects).
func Open(root string, opts Options) (*Storage, error) {
	if opts.Existing {
		if fi, err := os.Stat(filepath.Join(root, "trails")); err != nil || !fi.IsDir() {
			return nil, printf.Errorf("opening storage %s: %w", root, ErrNoStorage)
		}
	}
	s := &Storage{Root: root, DevicePath: opts.DevicePath, Reserved: opts.Reserved, W: opts.Writer, statfs: statfs, verity: kernelVerity}
	if s.DevicePath == "" {
		s.DevicePath = "/storage"
	}
	if s.Reserved == 0 {
		s.Reserved = 5
	}
	if s.W == nil {
		s.W = &persist.Writer{}
	}
	for _, d := range []string{"objects", "trails", "logs", "disks", "boot", "config", "cache/meta", "cache/devmeta"} {
		if err := s.W.MkdirAll(s.path(d), 0o755); err != nil {
			return nil, printf.Errorf("opening storage %s: %w", root, err)
		}
	}
	if err := s.recover(); err != nil {
		return nil, printf.Errorf("opening storage %s: %w", root, err)
	}
	return s, nil
}

func (s *Storage) path(elem ...string) string {
	return filepath.Join(append([]string{s.Root}, elem...)...)
}

// ObjectPath is where the object with hash sha is stored.
func (s *Storage) ObjectPath(sha string) string { return s.path("objects", sha) }

// TrailPath is the checkout directory of revision rev.
func (s *Storage) TrailPath(rev string) string { return s.path("trails", rev) }

// MaxLocalName is the longest local revision name (after "locals/").
const MaxLocalName = 64

// CheckRevision checks a revision name: a number of at most 20 digits
// (remote) or "locals/<name>" with a name CheckLocalName accepts (local).
// Errors wrap ErrBadRevision.
func CheckRevision(rev string) error {
	if name, ok := strings.CutPrefix(rev, "locals/"); ok {
		if !localNameOK(name) {
			return printf.Errorf("%w %q: %w", ErrBadRevision, rev, errLocalName)
		}
		return nil
	}
	if rev == "" || len(rev) > 20 {
		return printf.Errorf("%w %q", ErrBadRevision, rev)
	}
	for _, c := range rev {
		if c < '0' || c > '9' {
			return printf.Errorf("%w %q: want a number or locals/<name>", ErrBadRevision, rev)
		}
	}
	return nil
}

// errLocalName is CheckLocalName's one reason, so every refused local
// name gets the same readable rule.
var errLocalName error = &sentinel.Error{Text: "a local name has 1 to 64 characters, no leading '.', no '/', '\\', '%', '?' or control character"}

// CheckLocalName is the one rule for the name of a local revision (what
// follows "locals/"), used by storage, pv-ctrl and pvtx alike: upstream's
// (1 to MaxLocalName characters, no '/', so exactly one '/' in the
// revision) plus what keeps it one plain directory of trails/locals and
// one segment of pv-ctrl's request target: no leading '.' (".", ".." and
// the staging names), no '\\', NUL or other control character, and no '%'
// or '?' (escaped or query text of a request target, never decoded).
// Errors wrap ErrBadRevision.
func CheckLocalName(name string) error {
	if !localNameOK(name) {
		return printf.Errorf("%w %q: %w", ErrBadRevision, name, errLocalName)
	}
	return nil
}

func localNameOK(name string) bool {
	if name == "" || len(name) > MaxLocalName || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20, c == 0x7f, c == '/', c == '\\', c == '%', c == '?':
			return false
		}
	}
	return true
}

// stagingPrefix names trails being built; they are renamed into place
// when complete and removed by Open otherwise.
const stagingPrefix = ".new."

func (s *Storage) stagingPath(rev string) string {
	dir, base := filepath.Split(s.TrailPath(rev))
	return filepath.Join(dir, stagingPrefix+base)
}

// recover removes leftovers of interrupted writes: staging trails,
// objects/*.tmp of interrupted installs and partial fs-verity records.
// They are invisible to readers, so removing them loses nothing that was
// ever complete. Downloads in partial/ are kept: they resume (see
// partial.go; GC removes the unwanted ones).
func (s *Storage) recover() error {
	for _, dir := range []string{s.path("trails"), s.path("trails", "locals")} {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), stagingPrefix) || strings.HasSuffix(e.Name(), ".tmp") {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	for _, dir := range []string{"objects", verityDir} {
		entries, err := os.ReadDir(s.path(dir))
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				if err := os.Remove(s.path(dir, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Revisions lists the installed revisions: remote ones, then locals/<name>.
func (s *Storage) Revisions() ([]string, error) {
	var revs []string
	for _, sub := range []string{"", "locals"} {
		entries, err := os.ReadDir(s.path("trails", sub))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, e := range entries {
			rev := e.Name()
			if sub != "" {
				rev = sub + "/" + rev
			}
			if e.IsDir() && CheckRevision(rev) == nil {
				revs = append(revs, rev)
			}
		}
	}
	return revs, nil
}

// HasRevision reports whether rev is installed.
func (s *Storage) HasRevision(rev string) bool {
	fi, err := os.Stat(s.TrailPath(rev))
	return err == nil && fi.IsDir()
}

// StateJSON returns the raw state of an installed revision.
func (s *Storage) StateJSON(rev string) ([]byte, error) {
	if err := CheckRevision(rev); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(s.TrailPath(rev), ".pvr", "json"))
	if os.IsNotExist(err) {
		return nil, printf.Errorf("%w: %s", ErrNoRevision, rev)
	}
	return data, err
}
