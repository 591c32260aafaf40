package http1

import (
	"bufio"
	"errors"
	"io"
	"os"
	"time"

	"pantavisor/lib/connlimit"
	"pantavisor/lib/unixsock"
)

const (
	bufSize       = 4 << 10   // per-connection read and write buffers
	maxDrain      = 256 << 10 // unread request body bytes skipped to keep a connection
	maxLinger     = 64 << 10  // bytes read and dropped while closing
	lingerTimeout = 500 * time.Millisecond
)

// The server's own answers to requests it cannot parse.
const (
	bodyBadRequest  = `{"Error":"Bad request"}`
	bodyUnsupported = `{"Error": "Unsupported protocol"}` // sic: libevent's space
	bodyTooBig      = `{"Error":"Request header too large"}`
	continueLine    = "HTTP/1.1 100 Continue\r\n\r\n"
)

// transport is a connection: an *os.File socket, or a fake in tests.
type transport interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// conn is one server connection, served by one goroutine.
type conn struct {
	s       *Server
	t       transport
	pid     int
	peer    connlimit.Peer // the caller class, from pid at accept time
	br      *bufio.Reader
	bw      *bufio.Writer
	body    body      // the current request's body
	w       *Response // the current response
	expect  bool      // "100 Continue" is owed before the body is read
	wrote   bool      // response bytes were written: closing lingers
	dropped bool      // closing without a word
	refused bool      // over MaxConns: answered with a 503
	rset    time.Time // when the read deadline was last pushed
	wset    time.Time // when the write deadline was last pushed
	scratch []byte    // response header buffer
}

func newConn(s *Server, t transport, pid int) *conn {
	c := &conn{s: s, t: t, pid: pid, br: s.reader(t), bw: s.writer(t)}
	c.body.before = c.beforeBody
	c.body.trailerMax = s.MaxHeaderBytes
	return c
}

// serve answers requests until the connection ends: 1.0 requests, a
// "Connection: close", an error or an undrainable body end it.
func (c *conn) serve() {
	defer func() {
		c.close()
		c.s.untrack(c)
	}()
	if c.refused {
		// Best effort: the connection is refused and closes either way.
		_, _ = c.write([]byte(refused))
		_ = c.bw.Flush()
		return
	}
	for first := true; ; first = false {
		r, err := c.next(first)
		if err != nil {
			c.reject(err, r)
			return
		}
		if h := r.Header.Get("Host"); h != "" && h != "localhost" {
			c.dropped = true // upstream's router refuses other hosts without a response
			return
		}
		if !c.respond(r) {
			return
		}
	}
}

// next reads the next request's head: the first waits HeaderTimeout,
// later ones IdleTimeout for their first byte. On error, the request is
// returned too once its line was read (its version is known).
func (c *conn) next(first bool) (*Request, error) {
	if !first {
		_ = c.t.SetReadDeadline(time.Now().Add(c.s.IdleTimeout)) // fails only on a closed conn, which Peek reports
		if _, err := c.br.Peek(1); err != nil {
			return nil, io.EOF
		}
	}
	_ = c.t.SetReadDeadline(time.Now().Add(c.s.HeaderTimeout)) // as above: the read reports it
	c.rset = time.Time{}
	r, err := readRequest(c.br, c.s.MaxHeaderBytes)
	if err != nil {
		return r, err
	}
	r.PeerPid = c.pid
	c.body.reset(c.br, r.ContentLength)
	r.Body = &c.body
	return r, nil
}

// respond runs the handler on r and completes its response; it reports
// whether the connection may serve another request.
func (c *conn) respond(r *Request) bool {
	c.w = &Response{c: c, proto: r.Proto, head: r.Method == "HEAD",
		keep: r.Proto == "HTTP/1.1" && !hasToken(r.Header.Get("Connection"), "close")}
	c.expect = r.Proto == "HTTP/1.1" && hasToken(r.Header.Get("Expect"), "100-continue") && !c.body.done()
	c.run(r)
	c.w.finish()
	return c.w.keep && c.drain()
}

// run calls the handler; a panic closes the connection instead of the
// process.
func (c *conn) run(r *Request) {
	defer func() {
		if v := recover(); v != nil {
			c.w.keep = false
			msg, _ := v.(string)
			if err, ok := v.(error); ok {
				msg = err.Error()
			}
			c.s.logf("handler panic on " + r.Method + " " + r.Target + ": " + msg)
		}
	}()
	c.s.Handler(c.w, r)
}

// reject answers a request that could not be read, or says nothing when
// the stream ended, failed or timed out. The answer is in r's version when
// its request line was read (r not nil), else in HTTP/1.1.
func (c *conn) reject(err error, r *Request) {
	var status int
	var body string
	switch {
	case errors.Is(err, ErrProto):
		status, body = 400, bodyUnsupported
	case errors.Is(err, ErrHeaderTooBig):
		status, body = 431, bodyTooBig
	case errors.Is(err, ErrBadRequest), errors.Is(err, io.ErrUnexpectedEOF):
		status, body = 400, bodyBadRequest
	default:
		return
	}
	proto := "HTTP/1.1"
	if r != nil {
		proto = r.Proto
	}
	c.w = &Response{c: c, proto: proto}
	c.w.Send(status, "application/json", []byte(body))
	c.w.Flush()
}

// drain reads what the handler left of the request body, so that the
// next request can be read; it reports false when the body is too long,
// bad, or was never sent (100-continue not given).
func (c *conn) drain() bool {
	if c.body.done() {
		return true
	}
	if c.expect {
		return false
	}
	n, err := io.CopyN(io.Discard, &c.body, maxDrain+1)
	return err == io.EOF && n <= maxDrain
}

// beforeBody runs before each read of the request body: it sends the owed
// "100 Continue" (unless the response has begun) and pushes the read
// deadline.
func (c *conn) beforeBody() error {
	if c.expect {
		c.expect = false
		if c.w == nil || c.w.status == 0 {
			if _, err := c.write([]byte(continueLine)); err != nil {
				return err
			}
			c.writeDeadline()
			if err := c.bw.Flush(); err != nil {
				return err
			}
		}
	}
	if now := time.Now(); now.Sub(c.rset) > c.s.ReadTimeout/8 {
		c.rset = now
		return c.t.SetReadDeadline(now.Add(c.s.ReadTimeout))
	}
	return nil
}

// write buffers response bytes with a fresh write deadline.
func (c *conn) write(p []byte) (int, error) {
	c.writeDeadline()
	c.wrote = true
	return c.bw.Write(p)
}

// writeDeadline pushes the write deadline (at most every WriteTimeout/8).
func (c *conn) writeDeadline() {
	if now := time.Now(); now.Sub(c.wset) > c.s.WriteTimeout/8 {
		c.wset = now
		_ = c.t.SetWriteDeadline(now.Add(c.s.WriteTimeout)) // the write reports a closed conn
	}
}

// close ends the connection. After a response, if the client sent bytes
// that were not read, it half-closes and reads what the client still
// sends for a moment: closing a socket with unread bytes would make the
// client's read fail (ECONNRESET) instead of returning the response. A
// refused connection always lingers so: its 503 is sent at accept, often
// before the client's request arrives.
func (c *conn) close() {
	if f, ok := c.t.(*os.File); ok && c.wrote && !c.dropped && (c.refused || c.unread(f)) {
		if unixsock.ShutdownWrite(f) == nil {
			// Best effort: the connection closes right after.
			_ = c.t.SetReadDeadline(time.Now().Add(lingerTimeout))
			_, _ = io.CopyN(io.Discard, c.t, maxLinger)
		}
	}
	c.t.Close()
	c.s.readers.Put(c.br)
	c.s.writers.Put(c.bw)
}

// reader returns a pooled read buffer on t.
func (s *Server) reader(t transport) *bufio.Reader {
	if br, _ := s.readers.Get().(*bufio.Reader); br != nil {
		br.Reset(t)
		return br
	}
	return bufio.NewReaderSize(t, bufSize)
}

// writer returns a pooled write buffer on t.
func (s *Server) writer(t transport) *bufio.Writer {
	if bw, _ := s.writers.Get().(*bufio.Writer); bw != nil {
		bw.Reset(t)
		return bw
	}
	return bufio.NewWriterSize(t, bufSize)
}

// unread reports whether the client sent bytes the server did not read.
func (c *conn) unread(f *os.File) bool {
	n, err := unixsock.Unread(f)
	return err != nil || n > 0 || c.br.Buffered() > 0 || !c.body.done()
}
