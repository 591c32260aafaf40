package pvctl

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/http1"
)

// rec is one request the fake pv-ctrl server received.
type rec struct {
	Method, Target, CType string
	Body                  string // the body, for bodies up to keepMax
	Len                   int64  // bytes received
	SHA                   string // sha256 of the body, hex
}

// keepMax bounds the bodies the fake keeps.
const keepMax = 1 << 20

// fake is a pv-ctrl server that records requests and answers with reply
// (200 and an empty body by default).
type fake struct {
	sock  string
	mu    sync.Mutex
	reqs  []rec
	reply func(r rec) (int, string)
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{sock: filepath.Join(t.TempDir(), "pv-ctrl")}
	s := &http1.Server{Handler: f.serve}
	require.NoError(t, s.Listen(f.sock))
	t.Cleanup(func() { s.Close() })
	return f
}

func (f *fake) serve(w *http1.Response, r *http1.Request) {
	h := sha256.New()
	var keep bytes.Buffer
	n, err := io.Copy(io.MultiWriter(h, &limitWriter{&keep, keepMax}), r.Body)
	if err != nil {
		w.Send(500, "", []byte("read: "+err.Error()))
		return
	}
	q := rec{Method: r.Method, Target: r.Target, CType: r.Header.Get("Content-Type"),
		Body: keep.String(), Len: n, SHA: hex.EncodeToString(h.Sum(nil))}
	f.mu.Lock()
	f.reqs = append(f.reqs, q)
	reply := f.reply
	f.mu.Unlock()
	status, body := 200, ""
	if reply != nil {
		status, body = reply(q)
	}
	w.Send(status, "application/json", []byte(body))
}

func (f *fake) requests() []rec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rec(nil), f.reqs...)
}

// calls returns the requests as "METHOD target".
func (f *fake) calls() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.Method+" "+r.Target)
	}
	return out
}

type limitWriter struct {
	w   io.Writer
	max int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if buf, ok := l.w.(*bytes.Buffer); ok && buf.Len() < l.max {
		buf.Write(p[:min(len(p), l.max-buf.Len())])
	}
	return len(p), nil
}

// result is what one run of the applet printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// run runs pv-ctl with args, stdin and a fixed clock, and no PVTEST_EXEC.
func run(t *testing.T, stdin string, tty bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &ctl{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, tty: tty,
		sockets: []string{"/nonexistent/a", "/nonexistent/b"},
		getenv:  func(string) string { return "" },
		now:     time.Now,
	}
	code := c.main(append([]string{"pv-ctl"}, args...))
	return result{code, out.String(), errb.String()}
}
