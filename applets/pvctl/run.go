package pvctl

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/http1"
	"pantavisor/lib/printf"
)

// maxErrorBody bounds the body of a reply other than 200 that is kept to
// be compared with the known error bodies and printed.
const maxErrorBody = 64 << 10

// run carries out a parsed command and returns the exit code.
func (c *ctl) run(a action) int {
	switch a.kind {
	case kindObjectGet:
		return c.objectGet(a)
	case kindObjectPut:
		return c.finish(c.objectPut(a.path, a.name))
	case kindStepPut:
		return c.finish(c.stepPut(a.path, a.name))
	case kindStepInstall:
		return c.install(a.path, a.name)
	case kindDaemonRestart:
		return c.finish(c.daemonRestart(a.name))
	}
	return c.finish(c.send(a, requestTimeout))
}

// send sends a small request (body from a.body).
func (c *ctl) send(a action, timeout time.Duration) (*http1.ClientResponse, error) {
	var body io.Reader
	length := int64(0)
	if a.hasBody {
		body, length = strings.NewReader(a.body), int64(len(a.body))
	}
	return c.do(a.method, a.target, a.ctype, body, length, timeout)
}

// do sends one request, printing the headers on stderr with -v.
func (c *ctl) do(method, target, ctype string, body io.Reader, length int64, timeout time.Duration) (*http1.ClientResponse, error) {
	var h http1.Header
	if ctype != "" {
		h = http1.Header{{Name: "Content-Type", Value: ctype}}
	}
	if c.opts.verbose {
		c.dumpRequest(method, target, h, length)
	}
	cl := http1.Client{Socket: c.opts.socket, Timeout: timeout}
	resp, err := cl.Do(method, target, h, body, length)
	if err != nil {
		return nil, err
	}
	if c.opts.verbose {
		c.dumpResponse(resp)
	}
	return resp, nil
}

// dumpRequest prints what curl -v prints of a request: the head that
// http1.Client sends.
func (c *ctl) dumpRequest(method, target string, h http1.Header, length int64) {
	var b strings.Builder
	printf.Fprintf(&b, "> %s %s HTTP/1.1\n> Host: localhost\n", method, target)
	for _, f := range h {
		printf.Fprintf(&b, "> %s: %s\n", f.Name, f.Value)
	}
	switch {
	case length < 0:
		b.WriteString("> Transfer-Encoding: chunked\n")
	case length > 0 || method == "POST" || method == "PUT":
		printf.Fprintf(&b, "> Content-Length: %d\n", length)
	}
	b.WriteString("> Connection: close\n>\n")
	_, _ = io.WriteString(c.stderr, b.String())
}

// dumpResponse prints what curl -v prints of a response.
func (c *ctl) dumpResponse(r *http1.ClientResponse) {
	var b strings.Builder
	printf.Fprintf(&b, "< %d %s\n", r.Status, r.Reason)
	for _, f := range r.Header {
		printf.Fprintf(&b, "< %s: %s\n", f.Name, f.Value)
	}
	b.WriteString("<\n")
	_, _ = io.WriteString(c.stderr, b.String())
}

// finish applies the output contract to a reply: on 200 the body without
// its trailing newlines and one newline on stdout, exit 0; otherwise the
// body the same way on stderr and the mapped exit code (see exitCode).
func (c *ctl) finish(resp *http1.ClientResponse, err error) int {
	if err != nil {
		return c.fail(err)
	}
	defer resp.Body.Close()
	if resp.Status != 200 {
		return c.fail(readError(resp))
	}
	tw := &trimWriter{w: c.stdout}
	if _, err := io.Copy(tw, resp.Body); err != nil {
		return c.fail(printf.Errorf("reading the reply: %w", err))
	}
	if _, err := io.WriteString(c.stdout, "\n"); err != nil {
		printf.Fprintf(c.stderr, "%s: %v\n", c.opts.name, err)
		return exitUsage
	}
	return exitOK
}

// readError reads the body of a reply other than 200 into a replyError.
func readError(resp *http1.ClientResponse) *replyError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &replyError{status: resp.Status, body: bytes.TrimRight(b, "\n")}
}

// check reads and closes a reply, returning its body on 200 and a
// replyError otherwise.
func check(resp *http1.ClientResponse, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.Status != 200 {
		return nil, readError(resp)
	}
	return io.ReadAll(resp.Body)
}

// objectGet streams GET /objects/<sha> to stdout (the -f file) whatever
// the status, and always exits 0, as upstream.
func (c *ctl) objectGet(a action) int {
	resp, err := c.do(a.method, a.target, "", nil, 0, requestTimeout)
	if err != nil {
		printf.Fprintf(c.stderr, "%s: %v\n", c.opts.name, err)
		return exitOK
	}
	defer resp.Body.Close()
	if _, err := io.Copy(c.stdout, resp.Body); err != nil {
		printf.Fprintf(c.stderr, "%s: reading object: %v\n", c.opts.name, err)
	}
	return exitOK
}

// objectPut uploads an object: a file, "-SIZE" (SIZE bytes of stdin) or
// "-" (stdin, chunked), streamed with constant memory.
func (c *ctl) objectPut(path, sha string) (*http1.ClientResponse, error) {
	body, length, closeFn, err := c.source(path, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = closeFn() }() // a file read or stdin
	return c.do("PUT", "/objects/"+escape(sha), ctypeOcts, body, length, objectTimeout)
}

// source opens what objects put and steps put upload: a file with its
// size, stdin of unknown size ("-", sent chunked as curl -T - does) or,
// when sized (objects put), stdin with a given size ("-SIZE").
func (c *ctl) source(path string, sized bool) (io.Reader, int64, func() error, error) {
	nop := func() error { return nil }
	if path == "-" {
		return c.stdin, -1, nop, nil
	}
	if sized && strings.HasPrefix(path, "-") {
		n, err := strconv.ParseInt(path[1:], 10, 64)
		if err != nil {
			return nil, 0, nil, printf.Errorf("bad size %q: %w", path, err)
		}
		return io.LimitReader(c.stdin, n), n, nop, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, nil, printf.Errorf("uploading %s: not a regular file", path)
	}
	return f, fi.Size(), f.Close, nil
}

// stepPut uploads a state json as step rev, then -m's commit message if
// the upload got 200; the reply is the last one sent.
func (c *ctl) stepPut(path, rev string) (*http1.ClientResponse, error) {
	body, length, closeFn, err := c.source(path, false)
	if err != nil {
		return nil, err
	}
	resp, err := c.do("PUT", "/steps/"+escape(rev), "", body, length, requestTimeout)
	_ = closeFn() // a file read or stdin
	if err != nil || resp.Status != 200 || c.opts.message == "" {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body) // the step was stored; the body is not shown
	resp.Body.Close()
	return c.commitMsg(rev)
}

// commitMsg sends -m's message as the commit message of step rev.
func (c *ctl) commitMsg(rev string) (*http1.ClientResponse, error) {
	a := action{method: "PUT", target: "/steps/" + escape(rev) + "/commitmsg", ctype: ctypeForm,
		body: c.opts.message, hasBody: true}
	return c.send(a, requestTimeout)
}

// daemonRestart stops a daemon, then starts it if the stop got 200.
func (c *ctl) daemonRestart(name string) (*http1.ClientResponse, error) {
	resp, err := c.send(lifecycle("/daemons", name, "stop"), requestTimeout)
	if err != nil || resp.Status != 200 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body) // stopped; the body is not shown
	resp.Body.Close()
	return c.send(lifecycle("/daemons", name, "start"), requestTimeout)
}

// trimWriter writes through to w everything but trailing newlines, as the
// shell's $(...) drops them from the reply before echo adds one back.
type trimWriter struct {
	w  io.Writer
	nl int // newlines held back
}

func (t *trimWriter) Write(p []byte) (int, error) {
	end := len(p)
	for end > 0 && p[end-1] == '\n' {
		end--
	}
	if end == 0 {
		t.nl += len(p)
		return len(p), nil
	}
	var nls [64]byte
	for t.nl > 0 {
		n := min(t.nl, len(nls))
		for i := range n {
			nls[i] = '\n'
		}
		if _, err := t.w.Write(nls[:n]); err != nil {
			return 0, err
		}
		t.nl -= n
	}
	if _, err := t.w.Write(p[:end]); err != nil {
		return 0, err
	}
	t.nl = len(p) - end
	return len(p), nil
}
