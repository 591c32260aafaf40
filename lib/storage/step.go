package storage

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// Errors of PutState a caller answers differently.
var (
	ErrTooBig    error = &sentinel.Error{Text: "state JSON too big"}
	ErrReadState error = &sentinel.Error{Text: "cannot read state JSON"}
	ErrBadState  error = &sentinel.Error{Text: "state JSON has bad format"}
)

// PutState stores an uploaded state JSON as revision rev, not yet run
// (upstream's PUT /steps/locals/<name>). size is the body length, or -1
// when unknown. Steps, in a staging directory invisible to readers and
// removed by Open after a crash:
//  1. create <stage>/.pvr and write progress NEW "Update not yet installed";
//  2. stream r into <stage>/.pvr/json (at most state.MaxSize bytes) and fsync it;
//  3. write progress NEW "Update ready to be run";
//  4. parse the state (objects need not be stored yet);
//  5. swap the staging directory in as trails/<rev>, replacing an
//     existing revision of that name.
//
// On error nothing changes: an existing revision of that name is kept.
// Errors: ErrTooBig, ErrNoSpace (full disk), ErrReadState, ErrBadState
// (wrapping the parser's error).
func (s *Storage) PutState(rev string, size int64, r io.Reader) (*state.State, error) {
	if err := CheckRevision(rev); err != nil {
		return nil, err
	}
	if size > state.MaxSize {
		return nil, printf.Errorf("storing state of %s: %w: %d bytes", rev, ErrTooBig, size)
	}
	if size > 0 {
		if err := s.CheckSpace(uint64(size)); err != nil {
			return nil, printf.Errorf("storing state of %s: %w", rev, err)
		}
	}
	final := s.TrailPath(rev)
	if err := s.W.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, printf.Errorf("storing state of %s: %w", rev, noSpace(err))
	}
	stage, err := os.MkdirTemp(filepath.Dir(final), stagingPrefix+filepath.Base(final)+".")
	if err != nil {
		return nil, printf.Errorf("storing state of %s: %w", rev, noSpace(err))
	}
	st, err := s.fillStep(stage, size, r)
	if err == nil {
		err = s.swapIn(stage, final)
	}
	if err != nil {
		os.RemoveAll(stage)
		return nil, printf.Errorf("storing state of %s: %w", rev, noSpace(err))
	}
	return st, nil
}

// fillStep runs steps 1 to 4 of PutState in the staging directory dir.
func (s *Storage) fillStep(dir string, size int64, r io.Reader) (*state.State, error) {
	if err := s.W.MkdirAll(filepath.Join(dir, ".pvr"), 0o755); err != nil {
		return nil, err
	}
	if err := s.W.MkdirAll(filepath.Join(dir, ".pv"), 0o755); err != nil {
		return nil, err
	}
	prog := filepath.Join(dir, ".pv", ProgressFile)
	if err := s.W.WriteFile(prog, progress.Make(progress.New, progress.MsgNotInstalled).Bytes(), 0o644); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, ".pvr", "json")
	if err := s.streamFile(p, size, r); err != nil {
		return nil, err
	}
	if err := s.W.WriteFile(prog, progress.Make(progress.New, progress.MsgReady).Bytes(), 0o644); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, printf.Errorf("%w: %w", ErrReadState, err)
	}
	st, err := state.Parse(data, state.Options{})
	if err != nil {
		return nil, printf.Errorf("%w: %w", ErrBadState, err)
	}
	return st, nil
}

// streamFile writes r (at most state.MaxSize bytes, exactly size when
// size >= 0) to a new file p and fsyncs it.
func (s *Storage) streamFile(p string, size int64, r io.Reader) error {
	s.W.Point("write " + p)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(f, io.LimitReader(r, state.MaxSize+1), make([]byte, 32<<10))
	switch {
	case err != nil:
	case n > state.MaxSize:
		err = printf.Errorf("%w: over %d bytes", ErrTooBig, state.MaxSize)
	case size >= 0 && n != size:
		err = printf.Errorf("%w: got %d bytes, want %d", ErrReadState, n, size)
	}
	if err != nil {
		f.Close()
		return err
	}
	return s.W.SyncClose(f)
}

// swapIn renames the complete staging directory stage to final. An
// existing final is first moved aside (to a staging name, so a crash
// between the two renames leaves neither, and Open removes the old one)
// and removed afterwards. stepMu serialises concurrent swaps.
func (s *Storage) swapIn(stage, final string) error {
	s.stepMu.Lock()
	defer s.stepMu.Unlock()
	if _, err := os.Lstat(final); err == nil {
		old := filepath.Join(filepath.Dir(final), stagingPrefix+filepath.Base(final)+".old")
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := s.W.Rename(final, old); err != nil {
			return err
		}
		defer os.RemoveAll(old)
	}
	return s.W.Rename(stage, final)
}

// Step is one installed revision as GET /steps lists it.
type Step struct {
	Rev       string    // "0", "locals/<name>"
	ModTime   time.Time // of the trail directory
	CommitMsg []byte    // nil when none
	Progress  []byte    // raw progress JSON; nil when none
}

// Steps lists the installed revisions as upstream does: trails/locals/*
// first, then trails/*, each in name order; current, locals and hidden
// (staging) entries are skipped.
func (s *Storage) Steps() ([]Step, error) {
	var out []Step
	for _, sub := range []string{"locals", ""} {
		entries, err := os.ReadDir(s.path("trails", sub))
		if err != nil {
			if sub != "" && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() || name[0] == '.' || (sub == "" && (name == "current" || name == "locals")) {
				continue
			}
			if sub != "" {
				name = sub + "/" + name
			}
			st, ok := s.step(name)
			if ok {
				out = append(out, st)
			}
		}
	}
	return out, nil
}

// step reads what Steps reports of rev; false if it vanished meanwhile.
func (s *Storage) step(rev string) (Step, bool) {
	dir := s.TrailPath(rev)
	fi, err := os.Stat(dir)
	if err != nil {
		return Step{}, false
	}
	st := Step{Rev: rev, ModTime: fi.ModTime()}
	st.CommitMsg, _ = os.ReadFile(filepath.Join(dir, ".pv", CommitMsgFile))
	st.Progress, _ = os.ReadFile(filepath.Join(dir, ".pv", ProgressFile))
	return st, true
}
