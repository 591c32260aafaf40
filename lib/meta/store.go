package meta

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"pantavisor/lib/config"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
)

// DefaultRunDir is Pantavisor's run directory ($RUNDIR).
const DefaultRunDir = config.DefaultRunDir

// Entry is one key and its value.
type Entry struct {
	Key, Value string
}

// Store is one metadata store: the run-dir view Dir, the per-container
// views under RunDir and the persisted copy Persist. It is safe for
// concurrent use. Empty RunDir and Dir mean their defaults
// (DefaultRunDir, RunDir/<Kind>); an empty Persist means the store is not
// persisted. New returns a Store with Pantavisor's paths.
type Store struct {
	Kind    Kind
	RunDir  string // root of the per-container views <RunDir>/<kind>.<c>/
	Dir     string // the run-dir view, <RunDir>/<kind> by default
	Persist string // persisted copy on the storage; "" = not persisted

	// W makes the writes durable; nil means a zero persist.Writer.
	W *persist.Writer

	// OnChange, when set, is called after each key is written with a new
	// value (deleted false) or removed (value "", deleted true), including
	// each key Load restores. It runs with the store locked and must not
	// call back into the Store.
	OnChange func(key, value string, deleted bool)

	mu sync.Mutex
}

// New returns the store of kind k at Pantavisor's default paths:
// /run/pantavisor/pv/<kind>, persisted in /storage/cache/devmeta
// (device-meta) or /storage/cache/meta (user-meta).
func New(k Kind) *Store {
	p := "/storage/cache/devmeta"
	if k == User {
		p = "/storage/cache/meta"
	}
	return &Store{Kind: k, RunDir: DefaultRunDir, Dir: filepath.Join(DefaultRunDir, k.String()), Persist: p}
}

func (s *Store) runDir() string {
	if s.RunDir == "" {
		return DefaultRunDir
	}
	return s.RunDir
}

func (s *Store) dir() string {
	if s.Dir == "" {
		return filepath.Join(s.runDir(), s.Kind.String())
	}
	return s.Dir
}

// persistDir is where Set makes keys durable besides Dir: "" when the
// store is not persisted or Persist is Dir itself (a bind mount).
func (s *Store) persistDir() string {
	if s.Persist == "" || filepath.Clean(s.Persist) == filepath.Clean(s.dir()) {
		return ""
	}
	return s.Persist
}

func (s *Store) writer() *persist.Writer {
	if s.W == nil {
		return &persist.Writer{}
	}
	return s.W
}

// ContainerDir is the view of container c: <RunDir>/<kind>.<c>, which
// holds the keys "<c>.<k>" as files <k>.
func (s *Store) ContainerDir(c string) string {
	return filepath.Join(s.runDir(), s.Kind.String()+"."+c)
}

// PrepareContainer creates the view of container c (empty when it has no
// keys yet) so it can be bind-mounted, and returns its path.
func (s *Store) PrepareContainer(c string) (string, error) {
	if err := CheckKey(c); err != nil || strings.Contains(c, ".") {
		return "", printf.Errorf("preparing %s view: bad container name %q", s.Kind, c)
	}
	d := s.ContainerDir(c)
	if err := s.writer().MkdirAll(d, 0o755); err != nil {
		return "", printf.Errorf("preparing %s view: %w", s.Kind, err)
	}
	return d, nil
}

// Get returns the value of key from the run-dir view, or an error wrapping
// ErrNotFound.
func (s *Store) Get(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(key)
}

func (s *Store) get(key string) (string, error) {
	v, err := readValue(filepath.Join(s.dir(), key))
	if errors.Is(err, os.ErrNotExist) {
		return "", printf.Errorf("%s %q: %w", s.Kind, key, ErrNotFound)
	}
	return v, err
}

// readValue reads a value file, refusing one larger than MaxValue.
func readValue(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxValue+1))
	if err != nil {
		return "", printf.Errorf("reading %s: %w", path, err)
	}
	if len(b) > MaxValue {
		return "", printf.Errorf("%w: %s is larger than %d bytes", ErrValueTooLarge, path, MaxValue)
	}
	return string(b), nil
}

// List returns every key of the run-dir view with its value, sorted by
// key. Files that are not valid keys (temporaries, directories) are
// skipped.
func (s *Store) List() ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list(s.dir())
}

func (s *Store) list(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, printf.Errorf("listing %s: %w", s.Kind, err)
	}
	var out []Entry
	var errs []error
	for _, de := range des { // ReadDir sorts by name
		if !de.Type().IsRegular() || CheckKey(de.Name()) != nil {
			continue
		}
		v, err := readValue(filepath.Join(dir, de.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Entry{Key: de.Name(), Value: v})
	}
	return out, errors.Join(errs...)
}

// Set writes key = value: to Persist first (durably), then to Dir and, for
// a key "<c>.<k>", to the container view. Setting the value a key already
// has does nothing (and calls no OnChange).
func (s *Store) Set(key, value string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := checkValue(key, value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set(key, value)
}

func (s *Store) set(key, value string) error {
	if old, err := s.get(key); err == nil && old == value {
		return nil
	}
	if p := s.persistDir(); p != "" {
		if err := s.writeFile(p, key, value, 0o700); err != nil {
			return err
		}
	}
	if err := s.writeViews(key, value); err != nil {
		return err
	}
	if s.OnChange != nil {
		s.OnChange(key, value, false)
	}
	return nil
}

// writeViews writes key to Dir and to its container view.
func (s *Store) writeViews(key, value string) error {
	if err := s.writeFile(s.dir(), key, value, 0o755); err != nil {
		return err
	}
	if c, sub, ok := SplitKey(key); ok {
		return s.writeFile(s.ContainerDir(c), sub, value, 0o755)
	}
	return nil
}

// writeFile atomically replaces dir/name with value through the
// persist.Writer steps (write, fsync, rename, fsync dir). The temporary
// file is ".<name>.tmp", which is never a valid key, so no key can collide
// with another key's temporary.
func (s *Store) writeFile(dir, name, value string, dirPerm os.FileMode) error {
	w := s.writer()
	if err := w.MkdirAll(dir, dirPerm); err != nil {
		return printf.Errorf("writing %s %q: %w", s.Kind, name, err)
	}
	path := filepath.Join(dir, name)
	// ".<key>.tmp" can never be a valid key, unlike "<key>.tmp".
	if err := w.WriteFileVia(path, filepath.Join(dir, "."+name+".tmp"), []byte(value), 0o644); err != nil {
		return printf.Errorf("writing %s %q: %w", s.Kind, name, err)
	}
	return nil
}

// Delete removes key from Persist, Dir and its container view. A key that
// is not in Dir is an error wrapping ErrNotFound.
func (s *Store) Delete(key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := os.Lstat(filepath.Join(s.dir(), key)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return printf.Errorf("%s %q: %w", s.Kind, key, ErrNotFound)
		}
		return printf.Errorf("deleting %s %q: %w", s.Kind, key, err)
	}
	return s.delete(key)
}

func (s *Store) delete(key string) error {
	if p := s.persistDir(); p != "" {
		if err := s.removeFile(p, key); err != nil {
			return err
		}
	}
	if err := s.removeViews(key); err != nil {
		return err
	}
	if s.OnChange != nil {
		s.OnChange(key, "", true)
	}
	return nil
}

// removeViews removes key from Dir and from its container view.
func (s *Store) removeViews(key string) error {
	if err := s.removeFile(s.dir(), key); err != nil {
		return err
	}
	if c, sub, ok := SplitKey(key); ok {
		return s.removeFile(s.ContainerDir(c), sub)
	}
	return nil
}

// removeFile removes dir/name (absent is fine) and fsyncs dir.
func (s *Store) removeFile(dir, name string) error {
	w := s.writer()
	path := filepath.Join(dir, name)
	w.Point("remove " + path)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return printf.Errorf("deleting %s: %w", path, err)
	}
	return w.SyncDir(dir)
}

// Replace makes the store equal to all, as the Hub's user-meta list is
// authoritative: keys of all are Set (in key order), then keys of the
// store that all lacks are deleted. Invalid keys or values in all are
// skipped; every problem is reported in the joined error, after the rest
// was applied.
func (s *Store) Replace(all map[string]string) error {
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	insertionSort(len(keys), func(i int) bool { return keys[i] < keys[i-1] }, func(i int) { keys[i], keys[i-1] = keys[i-1], keys[i] })
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, k := range keys {
		err := CheckKey(k)
		if err == nil {
			err = checkValue(k, all[k])
		}
		if err == nil {
			err = s.set(k, all[k])
		}
		errs = append(errs, err)
	}
	have, err := s.list(s.dir())
	errs = append(errs, err)
	for _, e := range have {
		if _, ok := all[e.Key]; !ok {
			errs = append(errs, s.delete(e.Key))
		}
	}
	return errors.Join(errs...)
}

// Publish sets every entry, stopping at nothing: the joined error names
// each entry that failed.
func (s *Store) Publish(entries []Entry) error {
	var errs []error
	for _, e := range entries {
		errs = append(errs, s.Set(e.Key, e.Value))
	}
	return errors.Join(errs...)
}

// Load restores the store at boot. Steps: remove temporaries an
// interrupted write left in Persist; write every valid key of Persist to
// Dir and its container view and report it to OnChange; remove the keys
// of Dir that Persist lacks. Entries that cannot be loaded (oversized,
// unreadable) are skipped and reported in the joined error. Without
// Persist there is nothing to load; with Persist equal to Dir (a bind
// mount) only the container views are rebuilt and OnChange called.
func (s *Store) Load() error {
	if s.Persist == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := []error{s.removeTemps(s.Persist)}
	saved, err := s.list(s.Persist)
	errs = append(errs, err)
	p := s.persistDir()
	keep := make(map[string]bool, len(saved))
	for _, e := range saved {
		keep[e.Key] = true
		var err error
		if p != "" {
			err = s.writeViews(e.Key, e.Value)
		} else if c, sub, ok := SplitKey(e.Key); ok {
			err = s.writeFile(s.ContainerDir(c), sub, e.Value, 0o755)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s.OnChange != nil {
			s.OnChange(e.Key, e.Value, false)
		}
	}
	if p != "" {
		have, err := s.list(s.dir())
		errs = append(errs, err)
		for _, e := range have {
			if !keep[e.Key] {
				errs = append(errs, s.removeViews(e.Key))
			}
		}
	}
	return errors.Join(errs...)
}

// removeTemps removes the ".<key>.tmp" files an interrupted write left.
func (s *Store) removeTemps(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return printf.Errorf("loading %s: %w", s.Kind, err)
	}
	for _, de := range des {
		if n := de.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") && de.Type().IsRegular() {
			if err := s.removeFile(dir, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// JSON returns the store as the control socket's GET answer: a flat
// object in key order (see AppendJSON).
func (s *Store) JSON() ([]byte, error) {
	entries, err := s.List()
	return AppendJSON(nil, entries), err
}

// Engine-maintained device-meta keys.

// SetStatus publishes the revision status (pantavisor.status).
func (s *Store) SetStatus(status string) error { return s.Set(KeyStatus, status) }

// SetRevision publishes the running revision (pantavisor.revision).
func (s *Store) SetRevision(rev string) error { return s.Set(KeyRevision, rev) }

// SetMode publishes pantavisor.mode: "remote" or "local".
func (s *Store) SetMode(remote bool) error {
	if remote {
		return s.Set(KeyMode, "remote")
	}
	return s.Set(KeyMode, "local")
}

// insertionSort sorts n elements given less(i) (element i before i-1) and
// swap(i) (exchange i and i-1). Metadata lists are short, and this keeps
// package sort and its generic instances (about 10 KB) out of the binary.
func insertionSort(n int, less func(i int) bool, swap func(i int)) {
	for i := 1; i < n; i++ {
		for j := i; j > 0 && less(j); j-- {
			swap(j)
		}
	}
}
