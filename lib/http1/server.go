package http1

import (
	"errors"
	"os"
	"sync"
	"time"

	"pantavisor/lib/connlimit"
	"pantavisor/lib/unixsock"
)

// Defaults of the Server limits.
const (
	DefaultMaxConns       = 256
	DefaultMaxHeaderBytes = 8 << 10
	DefaultHeaderTimeout  = 10 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultReadTimeout    = 30 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
)

// Server serves HTTP/1.x on a unix socket. The zero value of a limit
// means its default.
type Server struct {
	Handler  Handler
	MaxConns int // open connections at most (256); more are refused with 503 and closed
	// Classify names the caller class of a connection from its peer pid
	// (SO_PEERCRED), for the split of MaxConns by ClassLimits. It runs in
	// the accept loop, once per connection before any byte is read, so it
	// must be quick (a /proc read) and never wait on the client. nil:
	// every caller is the host.
	Classify func(pid int) connlimit.Peer
	// ClassLimits reserves slots of MaxConns for the host and mgmt
	// callers and caps each other container (see connlimit). A
	// connection over its class's share is refused like one over
	// MaxConns. The zero value: one pool for all callers.
	ClassLimits    connlimit.Limits
	MaxHeaderBytes int           // request line and header (8 KiB); more is 431
	HeaderTimeout  time.Duration // to receive a request's header (10 s)
	IdleTimeout    time.Duration // keep-alive wait for the next request (60 s)
	ReadTimeout    time.Duration // longest pause inside a request body (30 s)
	WriteTimeout   time.Duration // longest stall writing a response (30 s)
	Log            func(msg string)

	mu     sync.Mutex
	ln     *os.File
	path   string
	conns  map[*conn]struct{} // served and refused
	active int                // served connections
	table  *connlimit.Table   // served connections by caller class
	closed bool
	wg     sync.WaitGroup

	readers, writers sync.Pool // connection buffers
}

// Handler answers one request. A handler that returns without writing a
// response gets a 500; one that panics gets a 500 too (if it wrote
// nothing) and its connection is closed.
type Handler func(w *Response, r *Request)

// Listen binds the socket at path (mode 0666, replacing a stale one) and
// serves it in the background until Close.
func (s *Server) Listen(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil || s.closed {
		return errors.New("http1: server already started")
	}
	if s.Handler == nil {
		return errors.New("http1: server without a handler")
	}
	ln, err := unixsock.Listen(path, 0o666)
	if err != nil {
		return err
	}
	s.setDefaults()
	s.ln, s.path, s.conns = ln, path, make(map[*conn]struct{})
	s.wg.Add(1)
	go s.acceptLoop(ln)
	return nil
}

func (s *Server) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if s.MaxConns <= 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	def(&s.HeaderTimeout, DefaultHeaderTimeout)
	def(&s.IdleTimeout, DefaultIdleTimeout)
	def(&s.ReadTimeout, DefaultReadTimeout)
	def(&s.WriteTimeout, DefaultWriteTimeout)
	s.table = connlimit.New(s.MaxConns, s.ClassLimits)
}

// Close stops accepting, closes every connection, waits for the handlers
// and removes the socket file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed || s.ln == nil {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.t.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	os.Remove(s.path)
	return err
}

// acceptLoop accepts connections until ln is closed, classifies each by
// its peer pid and serves it in its own goroutine; it never waits on a
// connection.
func (s *Server) acceptLoop(ln *os.File) {
	defer s.wg.Done()
	for {
		f, pid, err := unixsock.Accept(ln)
		if err != nil {
			var se *unixsock.SockError
			if !errors.As(err, &se) {
				return // closed
			}
			s.logf(err.Error())
			time.Sleep(50 * time.Millisecond) // EMFILE and friends: let fds free up
			continue
		}
		c := newConn(s, f, pid)
		c.peer = s.classify(pid)
		s.track(c)
	}
}

// classify is Classify's answer for pid, the host without Classify.
func (s *Server) classify(pid int) connlimit.Peer {
	if s.Classify == nil {
		return connlimit.Peer{Class: connlimit.Host}
	}
	return s.Classify(pid)
}

// track registers c and serves it; over MaxConns or its class's share
// (see ClassLimits), c is answered with a 503 (at most MaxConns such
// answers in flight, others are closed).
func (s *Server) track(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.refused = s.closed || !s.table.Take(c.peer)
	switch {
	case s.closed, c.refused && len(s.conns)-s.active >= s.MaxConns:
		c.t.Close()
		return
	case !c.refused:
		s.active++
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	go c.serve()
}

// untrack forgets c after its goroutine ends.
func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if !c.refused {
		s.active--
		s.table.Release(c.peer)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// refused is the whole answer to a connection over MaxConns or over its
// class's share.
const refused = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n" +
	"Content-Length: 32\r\nConnection: close\r\n\r\n{\"Error\":\"Too many connections\"}"

func (s *Server) logf(msg string) {
	if s.Log != nil {
		s.Log("http1: " + msg)
	}
}
