// Package ctrltest is a fake pv-ctrl server for the tests of its clients
// (the pvctl and pvtx applets). Only tests import it; no device code does.
package ctrltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"pantavisor/lib/http1"
)

// KeepMax bounds the bodies the fake keeps in Request.Body.
const KeepMax = 1 << 20

// Request is one request the fake received.
type Request struct {
	Method, Target, CType string
	Body                  string // the body, for bodies up to KeepMax bytes
	Len                   int64  // bytes received
	SHA                   string // sha256 of the whole body, hex
}

// Server is a pv-ctrl server on a unix socket (Sock) that records the
// requests it receives and answers each with its reply function: 200 and
// an empty body until SetReply sets one.
type Server struct {
	Sock string // the socket's path

	mu    sync.Mutex
	reqs  []Request
	reply func(Request) (int, string)
}

// New starts a Server on a socket in t.TempDir(); it stops when t ends.
func New(t testing.TB) *Server {
	t.Helper()
	f := &Server{Sock: filepath.Join(t.TempDir(), "pv-ctrl")}
	s := &http1.Server{Handler: f.serve}
	if err := s.Listen(f.Sock); err != nil {
		t.Fatalf("fake pv-ctrl: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return f
}

// SetReply makes reply answer the requests from now on: it returns the
// status and the JSON body.
func (f *Server) SetReply(reply func(Request) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reply = reply
}

// Requests returns a copy of the requests received so far, in order.
func (f *Server) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// Calls returns the requests received so far as "METHOD target".
func (f *Server) Calls() []string {
	var out []string
	for _, r := range f.Requests() {
		out = append(out, r.Method+" "+r.Target)
	}
	return out
}

// Reset forgets the requests received so far.
func (f *Server) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = nil
}

func (f *Server) serve(w *http1.Response, r *http1.Request) {
	h := sha256.New()
	var keep bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &limitWriter{&keep, KeepMax}), r.Body)
	if err != nil {
		_ = w.Send(500, "", []byte("read: "+err.Error()))
		return
	}
	q := Request{Method: r.Method, Target: r.Target, CType: r.Header.Get("Content-Type"),
		Body: keep.String(), Len: n, SHA: hex.EncodeToString(h.Sum(nil))}
	f.mu.Lock()
	f.reqs = append(f.reqs, q)
	reply := f.reply
	f.mu.Unlock()
	status, body := 200, ""
	if reply != nil {
		status, body = reply(q)
	}
	_ = w.Send(status, "application/json", []byte(body)) // the client may be gone
}

// limitWriter keeps the first max bytes written to buf and drops the
// rest, reporting every write as complete.
type limitWriter struct {
	buf *bytes.Buffer
	max int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.buf.Len() < l.max {
		l.buf.Write(p[:min(len(p), l.max-l.buf.Len())])
	}
	return len(p), nil
}
