package http1

import (
	"strconv"
	"strings"

	"pantavisor/lib/sentinel"
)

// Errors of Response.
var (
	// ErrHeaderSent is a second WriteHeader or Send.
	ErrHeaderSent error = &sentinel.Error{Text: "http1: response header already sent"}
	// ErrBodyTooLong is a Write past the length given to WriteHeader.
	ErrBodyTooLong error = &sentinel.Error{Text: "http1: response body longer than announced"}
	// ErrBadStatus is a status code outside 100-999.
	ErrBadStatus error = &sentinel.Error{Text: "http1: invalid status code"}
)

// Response is what a handler writes to; it must not be used after the
// handler returns.
type Response struct {
	c      *conn
	header Header
	proto  string
	head   bool // a HEAD request: no body bytes
	status int
	mode   int   // body framing: bodyLength, bodyChunked or bodyEOF
	left   int64 // bodyLength: bytes still owed
	keep   bool  // the connection may serve another request
	err    error // the first write error
}

// Header returns the response header to fill before WriteHeader.
func (w *Response) Header() *Header { return &w.header }

// WriteHeader sends the status line and header. length is the body size,
// or -1 to stream a body of unknown size (chunked on HTTP/1.1, ended by
// closing the connection on HTTP/1.0). Content-Length,
// Transfer-Encoding and Connection are the server's to write; a handler's
// "Connection: close" closes the connection after the response.
func (w *Response) WriteHeader(status int, length int64) error {
	if w.status != 0 {
		return ErrHeaderSent
	}
	if status < 100 || status > 999 {
		return ErrBadStatus
	}
	w.status = status
	if hasToken(w.header.Get("Connection"), "close") || w.c.expect || w.c.body.err != nil && !w.c.body.done() {
		w.keep = false // an unsent (100-continue) or broken request body is not waited for
	}
	switch {
	case bodyless(status) || w.head:
		w.mode, w.left = bodyLength, 0
	case length >= 0:
		w.mode, w.left = bodyLength, length
	case w.proto == "HTTP/1.1":
		w.mode = bodyChunked
	default:
		w.mode, w.keep = bodyEOF, false
	}
	b := w.c.scratch[:0]
	b = appendStatus(b, w.proto, status)
	for _, f := range w.header {
		if ours(f.Name) || strings.ContainsAny(f.Value, "\r\n") || !isToken([]byte(f.Name)) {
			continue
		}
		b = append(append(append(append(b, f.Name...), ": "...), f.Value...), "\r\n"...)
	}
	if !bodyless(status) && length >= 0 {
		b = append(strconv.AppendInt(append(b, "Content-Length: "...), length, 10), "\r\n"...)
	}
	if w.mode == bodyChunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	if !w.keep {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	w.c.scratch = b
	_, err := w.c.write(b)
	return w.fail(err)
}

// appendStatus appends "HTTP/1.x 200 OK\r\n".
func appendStatus(b []byte, proto string, status int) []byte {
	reason := Reason(status)
	if reason == "" {
		reason = "Unknown"
	}
	b = append(append(b, proto...), ' ')
	b = strconv.AppendInt(b, int64(status), 10)
	return append(append(append(b, ' '), reason...), "\r\n"...)
}

// ours reports whether the server writes the field called name itself.
func ours(name string) bool {
	return strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding") ||
		strings.EqualFold(name, "Connection")
}

// Write sends body bytes. Without WriteHeader it first sends a 200 with a
// streamed body. Bytes of a HEAD or bodyless response are dropped.
func (w *Response) Write(p []byte) (int, error) {
	if w.status == 0 {
		if err := w.WriteHeader(200, -1); err != nil {
			return 0, err
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	switch w.mode {
	case bodyChunked:
		w.c.writeDeadline()
		n, err := chunkWriter{w.c.bw}.Write(p)
		return n, w.fail(err)
	case bodyEOF:
		n, err := w.c.write(p)
		return n, w.fail(err)
	}
	if bodyless(w.status) || w.head {
		return len(p), nil
	}
	var long error
	if int64(len(p)) > w.left {
		p, long = p[:w.left], ErrBodyTooLong
		w.keep = false
	}
	n, err := w.c.write(p)
	w.left -= int64(n)
	if err = w.fail(err); err != nil {
		return n, err
	}
	return n, long
}

// Flush sends what is buffered (a streamed body's bytes so far).
func (w *Response) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.c.writeDeadline()
	return w.fail(w.c.bw.Flush())
}

// Send writes a whole response with Content-Type ctype ("" = none).
func (w *Response) Send(status int, ctype string, body []byte) error {
	if ctype != "" {
		w.header.Set("Content-Type", ctype)
	}
	if err := w.WriteHeader(status, int64(len(body))); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

// fail records the first write error: the connection then closes.
func (w *Response) fail(err error) error {
	if err != nil && w.err == nil {
		w.err, w.keep = err, false
	}
	return err
}

// finish completes the response after the handler: a 500 if it sent
// nothing, the last chunk, and a flush. A body shorter than announced
// closes the connection.
func (w *Response) finish() {
	if w.status == 0 {
		w.Send(500, "", nil)
	}
	if w.mode == bodyLength && w.left > 0 && !w.head {
		w.keep = false
	}
	if w.mode == bodyChunked && w.err == nil {
		w.c.writeDeadline()
		_ = w.fail(chunkWriter{w.c.bw}.close()) // recorded in w.err
	}
	w.Flush()
}
