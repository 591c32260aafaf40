package pvtx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// Queue entries: "NNN__<part with / as %2F>.remove" files and
// "NNN__<name>/json" directories, applied in name order.
const (
	removeSuffix = ".remove"
	entrySep     = "__"
	maxName      = 255
)

// QueueNew starts a queue: a directory of steps applied later by
// QueueProcess, whose objects go to objdir. It replaces any finished
// transaction; an active one is ErrActive. Both paths are stored absolute
// (deviation: upstream stores them as given, so later commands run from
// another directory miss them).
func (t *Txn) QueueNew(queue, objdir string) error {
	s, ok, err := t.Load()
	if err != nil {
		return err
	}
	if ok && s.State == StateActive {
		return ErrActive
	}
	if queue == "" || objdir == "" {
		return errors.New("queue and objects directories are required")
	}
	s = Status{State: StateSet, Local: true}
	if s.Queue, err = filepath.Abs(queue); err != nil {
		return err
	}
	if s.Objects, err = filepath.Abs(objdir); err != nil {
		return err
	}
	if err := t.W.MkdirAll(s.Queue, 0o775); err != nil {
		return err
	}
	if err := os.Remove(t.path(currentFile)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return t.save(s)
}

// queue returns the status of the existing queue, else an error wrapping
// ErrNoQueue.
func (t *Txn) queue() (Status, error) {
	s, ok, err := t.Load()
	if err != nil {
		return s, err
	}
	if !ok || s.Queue == "" {
		return s, ErrNoQueue
	}
	if fi, err := os.Stat(s.Queue); err != nil || !fi.IsDir() {
		return s, printf.Errorf("queue %s does not exist: %w", s.Queue, ErrNoQueue)
	}
	return s, nil
}

// QueueRemove queues the removal of part: an empty file
// NNN__<part>.remove, with every '/' of part written %2F.
func (t *Txn) QueueRemove(part string) error {
	s, err := t.queue()
	if err != nil {
		return err
	}
	if part == "" {
		return errors.New("empty part name")
	}
	name := printf.Sprintf("%03d%s%s%s", s.Count, entrySep, strings.ReplaceAll(part, "/", "%2F"), removeSuffix)
	if err := checkEntry(name); err != nil {
		return err
	}
	if err := t.W.WriteFile(filepath.Join(s.Queue, name), nil, 0o644); err != nil {
		return err
	}
	s.Count++
	return t.save(s)
}

// QueueUnpack queues the package or state JSON in file path (see
// QueueUnpackFrom); the entry is named after the file's base name.
func (t *Txn) QueueUnpack(path string) error {
	if _, err := t.queue(); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.QueueUnpackFrom(f, filepath.Base(path))
}

// QueueUnpackFrom queues a package or a state JSON read from r as entry
// NNN__<name>/json, a package's objects going to the queue's objects
// directory (sha256-checked). name is "package" when empty (stdin).
//
// Deviations: a JSON entry is named after the file's base name (upstream
// uses the argument as given, so a path with '/' lands in a subdirectory
// that process never reads) and is checked before it is queued.
func (t *Txn) QueueUnpackFrom(r io.Reader, name string) error {
	s, err := t.queue()
	if err != nil {
		return err
	}
	if name == "" {
		name = "package"
	}
	entry := printf.Sprintf("%03d%s%s", s.Count, entrySep, name)
	if err := checkEntry(entry); err != nil {
		return err
	}
	src := sniff(r)
	var js []byte
	if src.pkg {
		js, err = src.walk(func(sha string, _ int64, body io.Reader) error {
			return storeObject(&t.W, s.Objects, sha, body)
		})
	} else {
		js, err = src.readJSON()
	}
	if err != nil {
		return err
	}
	if _, err := ParseState(js); err != nil {
		return err
	}
	dir := filepath.Join(s.Queue, entry)
	if err := t.W.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := t.W.WriteFile(filepath.Join(dir, "json"), js, 0o644); err != nil {
		return err
	}
	s.Count++
	return t.save(s)
}

// checkEntry refuses a queue entry name that is not one path component.
func checkEntry(name string) error {
	if len(name) > maxName || state.CheckName(name) != nil || name == "." || name == ".." {
		return printf.Errorf("queue entry %q: not a valid file name", name)
	}
	return nil
}

// QueueProcess applies the queue to the transaction. With queue and
// objdir it first runs QueueNew; with base it first runs Begin(base) (the
// queue's objects directory makes it local). Then, with a transaction
// active (else ErrNoTransaction), it applies the entries in name order:
// "NNN__<part>.remove" files remove part, directories merge their json
// and move the objects of their objects/ subdirectory, if any, to the
// objects directory (sha256-checked). The state is saved once at the end,
// so a failed step changes nothing.
func (t *Txn) QueueProcess(base, queue, objdir string) error {
	if queue != "" || objdir != "" {
		if err := t.QueueNew(queue, objdir); err != nil {
			return err
		}
	}
	s, err := t.queue()
	if err != nil {
		return err
	}
	if base != "" {
		if err := t.Begin(base, s.Objects); err != nil {
			return err
		}
	}
	if _, err := t.active(); err != nil {
		return err
	}
	cur, err := t.current()
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(s.Queue)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := t.apply(cur, s, e); err != nil {
			return printf.Errorf("queue entry %s: %w", e.Name(), err)
		}
	}
	return t.saveState(cur.Bytes())
}

// apply applies one queue entry to cur.
func (t *Txn) apply(cur *State, s Status, e os.DirEntry) error {
	name := e.Name()
	switch {
	case e.Type().IsRegular() && strings.HasSuffix(name, removeSuffix):
		_, part, ok := strings.Cut(strings.TrimSuffix(name, removeSuffix), entrySep)
		if !ok || part == "" {
			return errors.New("not NNN__<part>.remove")
		}
		cur.Remove(strings.ReplaceAll(strings.ReplaceAll(part, "%2F", "/"), "%2f", "/"))
	case e.IsDir():
		dir := filepath.Join(s.Queue, name)
		js, err := os.ReadFile(filepath.Join(dir, "json"))
		if err != nil {
			return err
		}
		in, err := ParseState(js)
		if err != nil {
			return err
		}
		cur.Add(in)
		return t.moveObjects(filepath.Join(dir, "objects"), s.Objects)
	}
	return nil
}

// moveObjects moves the objects of a queue entry's objects/ directory (if
// any) to objdir, refusing names that are not sha256 and content that does
// not match its name.
func (t *Txn) moveObjects(from, objdir string) error {
	entries, err := os.ReadDir(from)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.W.MkdirAll(objdir, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		src := filepath.Join(from, e.Name())
		if !state.IsSHA256(e.Name()) {
			return printf.Errorf("%s: %w", src, ErrBadObject)
		}
		if ok, err := objectOK(src, e.Name()); !ok {
			return printf.Errorf("%s: %w (%v)", src, ErrBadObject, err)
		}
		if err := t.W.Rename(src, filepath.Join(objdir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
