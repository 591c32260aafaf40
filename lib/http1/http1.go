// Package http1 is a small HTTP/1.0 and HTTP/1.1 server and client for
// AF_UNIX stream sockets, written for the pv-ctrl socket: no net/http in
// the device binary. The server streams request and response bodies,
// answers 1.0 requests and closes, keeps 1.1 connections alive, and
// bounds request size, time and the number of connections.
package http1

import (
	"io"
	"os"
	"time"
)

// Field is one header line.
type Field struct{ Name, Value string }

// Header is a list of header fields in the order they were sent.
type Header []Field

// Get returns the value of the first field called name (case-insensitive), "" if none.
func (h Header) Get(name string) string { panic("http1: not implemented yet") }

// Set replaces every field called name by one with value.
func (h *Header) Set(name, value string) { panic("http1: not implemented yet") }

// Request is a request as the server received it (Body is the decoded
// body: Content-Length or chunked, io.EOF at its end, never nil).
type Request struct {
	Method        string
	Target        string // the request-target as sent: path and query
	Proto         string // "HTTP/1.0" or "HTTP/1.1"
	Header        Header
	ContentLength int64 // -1: chunked or unknown
	Body          io.Reader
	PeerPid       int // SO_PEERCRED pid of the client; 0 if unknown
}

// Path returns Target without its query.
func (r *Request) Path() string { panic("http1: not implemented yet") }

// Response is what a handler writes to.
type Response struct{}

// Header returns the response header to fill before WriteHeader.
func (w *Response) Header() *Header { panic("http1: not implemented yet") }

// WriteHeader sends the status line and header. length is the body size,
// or -1 to stream a body of unknown size (chunked on HTTP/1.1, ended by
// closing the connection on HTTP/1.0).
func (w *Response) WriteHeader(status int, length int64) error { panic("http1: not implemented yet") }

// Write sends body bytes (after WriteHeader).
func (w *Response) Write(p []byte) (int, error) { panic("http1: not implemented yet") }

// Send writes a whole response with Content-Type ctype ("" = none).
func (w *Response) Send(status int, ctype string, body []byte) error {
	panic("http1: not implemented yet")
}

// Handler answers one request. A handler that returns without writing a
// response gets a 500.
type Handler func(w *Response, r *Request)

// Server serves HTTP/1.x on a unix socket.
type Server struct {
	Handler        Handler
	MaxConns       int           // open connections at most (256); more are refused with 503 and closed
	MaxHeaderBytes int           // request line and header (8 KiB); more is 431
	HeaderTimeout  time.Duration // to receive a request's header (10 s)
	IdleTimeout    time.Duration // keep-alive wait for the next request (60 s)
	ReadTimeout    time.Duration // longest pause inside a request body (30 s)
	WriteTimeout   time.Duration // longest stall writing a response (30 s)
	Log            func(msg string)
}

// Listen binds the socket at path (mode 0666, replacing a stale one) and
// serves it in the background until Close.
func (s *Server) Listen(path string) error { panic("http1: not implemented yet") }

// Close stops accepting, closes every connection and waits for the handlers.
func (s *Server) Close() error { panic("http1: not implemented yet") }

// Client sends requests to a unix socket, one connection per request.
type Client struct {
	Socket  string
	Timeout time.Duration // whole request, connect to end of body (0 = none)
}

// ClientResponse is a response read by Client.Do; the caller closes Body.
type ClientResponse struct {
	Status        int
	Reason        string
	Header        Header
	ContentLength int64 // -1: chunked or until close
	Body          io.ReadCloser
}

// Do sends a request with a body of length bytes (-1: chunked; 0 and nil
// body: none) and returns the response with its body unread.
func (c *Client) Do(method, target string, h Header, body io.Reader, length int64) (*ClientResponse, error) {
	panic("http1: not implemented yet")
}

var _ = os.Stdin
