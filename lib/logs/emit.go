package logs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// ErrNotStarted is returned for a message written before Start.
var ErrNotStarted = errors.New("log server not started")

// emit sends m to every output, under the server's lock. Steps:
//  1. drop pantavisor's own messages above Level (PV_LOG_LEVEL);
//  2. check the platform and clean the source (ErrBadName);
//  3. stdout outputs: pantavisor line format;
//  4. filetree: pantavisor's platform in the pantavisor format to
//     <rev>/pantavisor/pantavisor.log, others raw to <rev>/<platform>/<source>;
//  5. singlefile: JSON lines to <rev>/pv.log.
func (s *Server) emit(m *Message) error {
	if m.Platform == Pantavisor && m.Level > s.Level {
		return nil
	}
	if err := checkPlatform(m.Platform); err != nil {
		return err
	}
	src, err := cleanSource(m.Source)
	if err != nil {
		return err
	}
	m.Source = src
	if !m.Level.Valid() {
		return badf(ErrBadLevel, "%d", int(m.Level))
	}
	now := time.Now()
	e := entry{Message: m}
	e.tsec = s.tsec(e.when(now))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateNew:
		return ErrNotStarted
	case stateClosed:
		return ErrClosed
	}
	if s.outs.stdoutFor(m.Platform) {
		out := s.Stdout
		if out == nil {
			out = os.Stdout
		}
		whole := *m // the other outputs keep m's data as it is
		whole.Data = s.wholeLines(m)
		s.scratch = appendPV(s.scratch[:0], &entry{Message: &whole, tsec: e.tsec}, FormatTime(s.StdoutTimeFormat, e.when(now)))
		if len(s.scratch) > 0 {
			_, _ = out.Write(s.scratch) // a console that fails cannot be told
		}
	}
	var ftErr, sfErr error
	if s.outs&Filetree != 0 {
		ts := FormatTime(s.FiletreeTimeFormat, e.when(now))
		rel := filepath.Join(s.rev, m.Platform, m.Source)
		if m.Platform == Pantavisor {
			rel = filepath.Join(s.rev, Pantavisor, "pantavisor.log")
			s.scratch = appendPV(s.scratch[:0], &e, ts)
		} else {
			s.scratch = appendRaw(s.scratch[:0], &e, ts)
		}
		ftErr = s.writeFile(rel)
	}
	if s.outs&Singlefile != 0 {
		s.scratch = appendJSONLines(s.scratch[:0], &e, FormatTime(s.SinglefileTimeFormat, e.when(now)))
		sfErr = s.writeFile(filepath.Join(s.rev, "pv.log"))
	}
	return errors.Join(ftErr, sfErr)
}

// writeFile appends the scratch buffer to a file of the tree.
func (s *Server) writeFile(rel string) error {
	if len(s.scratch) == 0 {
		return nil
	}
	if err := s.tree.write(rel, s.scratch); err != nil {
		return &os.PathError{Op: "write log", Path: filepath.Join(s.tree.root, rel), Err: err}
	}
	return nil
}

// maxPartial bounds the unfinished line kept per stream for stdout: a
// longer one is printed as it is.
const maxPartial = 4096

// wholeLines returns the complete lines of a stream message for the
// stdout outputs. Raw and Legacy data are chunks of a stream (a console
// read cuts lines anywhere): the unfinished last line waits for the rest
// of it, so a line is never printed in two pieces. Other protocols carry
// whole messages.
func (s *Server) wholeLines(m *Message) []byte {
	if !m.Proto.Stream() {
		return m.Data
	}
	key := m.Platform + "\x00" + m.Source
	data := m.Data
	if prev := s.partial[key]; len(prev) > 0 {
		data = append(prev, data...)
		delete(s.partial, key)
	}
	cut := bytes.LastIndexByte(data, '\n') + 1
	if rest := data[cut:]; len(rest) > 0 && len(rest) < maxPartial {
		if s.partial == nil {
			s.partial = map[string][]byte{}
		}
		s.partial[key] = append([]byte(nil), rest...)
		data = data[:cut]
	}
	return data
}
