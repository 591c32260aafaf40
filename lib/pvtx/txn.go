package pvtx

import (
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/digest"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/pvs"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Errors a caller maps to upstream's exit codes; test them with errors.Is.
var (
	ErrNoTransaction error = &sentinel.Error{Text: "no active transaction, start one with 'begin' first"}
	ErrActive        error = &sentinel.Error{Text: "a transaction is already in progress; run 'abort' to discard it or 'commit'/'deploy' to finalize it"}
	ErrLocal         error = &sentinel.Error{Text: "this is a local transaction; use 'deploy <dir>' to finalize it"}
	ErrRemote        error = &sentinel.Error{Text: "this is a remote transaction; use 'commit' to finalize it"}
	ErrNoQueue       error = &sentinel.Error{Text: "no queue, create one with 'queue new' first"}
	ErrNoCtrl        error = &sentinel.Error{Text: "no pv-ctrl client"}
	ErrBadRevision   error = &sentinel.Error{Text: "revision name must be locals/<name>: 1 to 64 characters after locals/, no leading '.', no '/', '\\', '%', '?' or control character"}
)

// Ctrl is what a remote transaction needs from the pv-ctrl socket. A
// failed request with a reply returns an *HTTPError.
type Ctrl interface {
	// GetStep returns the state JSON of revision rev (GET /steps/<rev>).
	GetStep(rev string) ([]byte, error)
	// PutObject uploads one object of size bytes (PUT /objects/<sha>).
	PutObject(sha string, size int64, body io.Reader) error
	// PutStep uploads a state JSON as revision rev (PUT /steps/<rev>).
	PutStep(rev string, state []byte) error
}

// HTTPError is a pv-ctrl reply that is not 2xx.
type HTTPError struct {
	Method, Target string
	Status         int
	Reason         string
	Body           string
}

func (e *HTTPError) Error() string {
	return printf.Sprintf("pv-ctrl %s %s: %d %s\nResponse: %s", e.Method, e.Target, e.Status, e.Reason, e.Body)
}

// Txn is the transaction kept in a directory (PVTXDIR): the .status file
// and current.json. Each method is one pvtx command. The zero value is not
// usable: Dir must be set; Ctrl is needed by remote transactions only.
type Txn struct {
	Dir  string
	Ctrl Ctrl
	W    persist.Writer
	// Now and Rand name committed revisions; nil means time.Now and the
	// kernel's random source.
	Now  func() time.Time
	Rand func() uint32
	// Secureboot, when set, is the signature check Commit and Deploy
	// apply to the state before anything is sent or written (errors wrap
	// ErrSecureboot); nil checks nothing, as upstream pvtx.
	Secureboot *pvs.Options
	// Report, when set, is given the result of each such check, also of
	// a refused state (audit mode's uncovered keys, an untrusted clock).
	Report func(pvs.Result)
}

func (t *Txn) path(name string) string { return filepath.Join(t.Dir, name) }

// Load returns the .status file; ok is false when there is none.
func (t *Txn) Load() (s Status, ok bool, err error) {
	b, err := os.ReadFile(t.path(statusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Status{}, false, nil
	}
	if err == nil {
		s, err = ParseStatus(b)
	}
	if err != nil {
		return Status{}, false, printf.Errorf("reading %s: %w", t.path(statusFile), err)
	}
	return s, true, nil
}

func (t *Txn) save(s Status) error {
	b, err := s.MarshalBinary()
	if err != nil {
		return err
	}
	if err := t.W.MkdirAll(t.Dir, 0o755); err != nil {
		return err
	}
	return t.W.WriteFile(t.path(statusFile), b, 0o644)
}

// active returns the status of the active transaction, else an error
// wrapping ErrNoTransaction.
func (t *Txn) active() (Status, error) {
	s, ok, err := t.Load()
	if err != nil {
		return s, err
	}
	if !ok || s.State != StateActive {
		return s, ErrNoTransaction
	}
	return s, nil
}

// current returns the state of the transaction.
func (t *Txn) current() (*State, error) {
	data, err := os.ReadFile(t.path(currentFile))
	if err != nil {
		return nil, printf.Errorf("reading the transaction state: %w", err)
	}
	st, err := ParseState(data)
	if err != nil {
		return nil, printf.Errorf("%s: %w", t.path(currentFile), err)
	}
	return st, nil
}

func (t *Txn) saveState(data []byte) error {
	if err := t.W.MkdirAll(t.Dir, 0o755); err != nil {
		return err
	}
	return t.W.WriteFile(t.path(currentFile), data, 0o644)
}

// Begin starts a transaction from base: "" or "current" (GET
// /steps/current), "empty", a directory holding json or .pvr/json, or a
// state JSON file. A non-empty objdir makes it local (objects go there and
// it ends with Deploy); without, it is remote (objects go to pv-ctrl, it
// ends with Commit). When a queue exists (status SET) the queue, and its
// objects directory, are kept. An active transaction is ErrActive.
//
// Deviations: the base is read and checked before anything is replaced
// (upstream wipes PVTXDIR first, losing the old state on a bad base), only
// the two pvtx files are replaced (upstream deletes all of PVTXDIR), and
// "current"/"empty" must match exactly (upstream takes any name starting
// with them, so a file "empty.json" would silently be the empty state).
func (t *Txn) Begin(base, objdir string) error {
	s, ok, err := t.Load()
	if err != nil {
		return err
	}
	if ok && s.State == StateActive {
		return ErrActive
	}
	data, err := t.base(base)
	if err != nil {
		return err
	}
	if ok && s.State == StateSet {
		s.State = StateActive
	} else {
		s = Status{State: StateActive}
		if objdir != "" {
			if s.Objects, err = filepath.Abs(objdir); err != nil {
				return err
			}
			s.Local = true
		}
	}
	if err := t.saveState(data); err != nil {
		return err
	}
	return t.save(s)
}

// base returns the checked state JSON Begin starts from.
func (t *Txn) base(base string) ([]byte, error) {
	var data []byte
	var err error
	switch base {
	case "", "current":
		if t.Ctrl == nil {
			return nil, ErrNoCtrl
		}
		if data, err = t.Ctrl.GetStep("current"); err != nil {
			return nil, printf.Errorf("reading the current revision: %w", err)
		}
	case "empty":
		return []byte(EmptyState), nil
	default:
		if data, err = readBase(base); err != nil {
			return nil, err
		}
	}
	if _, err := ParseState(data); err != nil {
		return nil, printf.Errorf("%s: %w", base, err)
	}
	return data, nil
}

// readBase reads the state JSON of a file, or of a package or trail
// directory (json, then .pvr/json).
func readBase(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, printf.Errorf("no state json at %s: %w", path, err)
	}
	if fi.IsDir() {
		d, err := pvrpkg.ReadDir(path)
		if err != nil {
			return nil, err
		}
		return d.State()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sniff(f).readJSON()
}

// Add adds the package or state JSON in file path (see AddFrom).
func (t *Txn) Add(path string) error {
	if _, err := t.active(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.AddFrom(f)
}

// AddFrom adds a package (tar or gzip tar, recognised by magic) or
// a state JSON read from r. A package's objects are stored in the objects
// directory (local, sha256-checked, skipped when already there) or sent to
// pv-ctrl one by one (remote); its json is merged last, so a failed object
// leaves the state as it was.
//
// Deviation: upstream reads "-" (stdin) as gzip only; magic bytes are
// checked for stdin too.
func (t *Txn) AddFrom(r io.Reader) error {
	s, err := t.active()
	if err != nil {
		return err
	}
	src := sniff(r)
	var js []byte
	if src.pkg {
		js, err = src.walk(func(sha string, size int64, body io.Reader) error {
			if s.Local {
				return storeObject(&t.W, s.Objects, sha, body)
			}
			if t.Ctrl == nil {
				return ErrNoCtrl
			}
			return t.Ctrl.PutObject(sha, size, body)
		})
	} else {
		js, err = src.readJSON()
	}
	if err != nil {
		return err
	}
	return t.merge(js)
}

func (t *Txn) merge(js []byte) error {
	in, err := ParseState(js)
	if err != nil {
		return printf.Errorf("incoming json: %w", err)
	}
	cur, err := t.current()
	if err != nil {
		return err
	}
	cur.Add(in)
	return t.saveState(cur.Bytes())
}

// Remove removes part from the state (see State.Remove).
//
// Deviation: an empty part is refused; upstream removes every unshared key.
func (t *Txn) Remove(part string) error {
	if _, err := t.active(); err != nil {
		return err
	}
	if part == "" {
		return errors.New("empty part name")
	}
	cur, err := t.current()
	if err != nil {
		return err
	}
	if !cur.Remove(part) {
		return nil
	}
	return t.saveState(cur.Bytes())
}

// Abort forgets the transaction (and a queue's status): it deletes
// current.json and .status. Without a transaction it does nothing. The
// queue directory and objects are left alone.
func (t *Txn) Abort() error {
	for _, name := range []string{currentFile, statusFile} {
		if err := os.Remove(t.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Show returns the state JSON of the active transaction.
func (t *Txn) Show() ([]byte, error) {
	if _, err := t.active(); err != nil {
		return nil, err
	}
	return os.ReadFile(t.path(currentFile))
}

// Commit sends the state of a remote transaction to pv-ctrl as revision
// name (default locals/pvtx-<unix time>-<8 hex of its sha256>-<0..999>),
// marks it committed and returns the revision. It does not run it. A
// state t.Secureboot refuses is not sent (an error wrapping ErrSecureboot)
// and the transaction stays active.
func (t *Txn) Commit(name string) (string, error) {
	s, err := t.active()
	if err != nil {
		return "", err
	}
	if s.Local {
		return "", ErrLocal
	}
	data, err := os.ReadFile(t.path(currentFile))
	if err != nil {
		return "", err
	}
	rev := name
	if rev == "" {
		rev = t.revName(data)
	} else if err := checkRevision(rev); err != nil {
		return "", err
	}
	if err := t.secureboot(data); err != nil {
		return "", err
	}
	if t.Ctrl == nil {
		return "", ErrNoCtrl
	}
	if err := t.Ctrl.PutStep(rev, data); err != nil {
		return "", printf.Errorf("uploading revision %s: %w", rev, err)
	}
	s.State = StateCommitted
	return rev, t.save(s)
}

func (t *Txn) revName(data []byte) string {
	h := digest.New()
	h.Write(data)
	sum := h.Sum(nil)
	now, rnd := time.Now, t.Rand
	if t.Now != nil {
		now = t.Now
	}
	if rnd == nil {
		rnd = random
	}
	return printf.Sprintf("locals/pvtx-%d-%s-%d", now().Unix(), hex.EncodeToString(sum[:4]), rnd()%1000)
}

// checkRevision applies pv-ctrl's rule for local revision names
// (storage.CheckLocalName after "locals/").
func checkRevision(rev string) error {
	name, ok := strings.CutPrefix(rev, "locals/")
	if !ok || storage.CheckLocalName(name) != nil {
		return printf.Errorf("%q: %w", rev, ErrBadRevision)
	}
	return nil
}

// checkKey is state.CheckPath for a state key, with the key named.
func checkKey(key string) error {
	if err := state.CheckPath(key); err != nil {
		return printf.Errorf("state key %q: %w", key, err)
	}
	return nil
}

// random returns 32 random bits from the kernel (0 if it has none yet:
// the name only needs to differ between commits of one second).
func random() uint32 {
	var b [4]byte
	_, _ = unix.Getrandom(b[:], unix.GRND_NONBLOCK) // EAGAIN leaves b zero
	return getInt32u(b[:])
}

func getInt32u(b []byte) uint32 { return uint32(getInt32(b)) }
