package http1

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"

	"pantavisor/lib/sentinel"
)

// Errors of the message parser; the server answers each with its own
// response (see serverError).
var (
	// ErrBadRequest is a malformed request line, header or framing.
	ErrBadRequest error = &sentinel.Error{Text: "http1: bad request"}
	// ErrProto is a request for an HTTP version other than 1.0 and 1.1.
	ErrProto error = &sentinel.Error{Text: "http1: unsupported protocol"}
	// ErrHeaderTooBig is a request line and header over MaxHeaderBytes.
	ErrHeaderTooBig error = &sentinel.Error{Text: "http1: request header too large"}
	// ErrBadResponse is a malformed status line or response header.
	ErrBadResponse error = &sentinel.Error{Text: "http1: malformed response"}
)

// maxEmptyLines is how many empty lines may precede a request line
// (RFC 9112 2.2: stray CRLF after a body).
const maxEmptyLines = 4

// lineReader reads the lines of a message head (LF or CRLF ended),
// charging each byte against left.
type lineReader struct {
	br   *bufio.Reader
	left int
	long []byte // a line longer than br's buffer, assembled
	seen bool   // some byte was read
}

// line returns the next line without its end. It is valid until the next
// call. The end of the stream is io.EOF before any byte of the head and
// io.ErrUnexpectedEOF inside it; a head over the limit is ErrHeaderTooBig.
func (l *lineReader) line() ([]byte, error) {
	l.long = l.long[:0]
	for {
		b, err := l.br.ReadSlice('\n')
		if len(b) > 0 {
			l.seen = true
		}
		if len(b) > l.left {
			return nil, ErrHeaderTooBig
		}
		l.left -= len(b)
		switch {
		case err == nil && len(l.long) == 0:
			return trimEOL(b), nil
		case err == nil:
			l.long = append(l.long, b...)
			return trimEOL(l.long), nil
		case err == bufio.ErrBufferFull:
			l.long = append(l.long, b...)
		case err == io.EOF && l.seen:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}

// readRequest reads a request line and header from br, at most max bytes
// (empty lines before the request line count). It returns io.EOF when the
// stream ends before the request line, ErrProto, ErrHeaderTooBig or ErrBadRequest
// for bad input, and the reader's error otherwise. ContentLength and the
// framing come from the header; Body is left nil. An error after the
// request line comes with the request as far as it was read (Method,
// Target, Proto), so that the answer can use its version; an error before
// it comes with a nil request.
func readRequest(br *bufio.Reader, max int) (*Request, error) {
	l := lineReader{br: br, left: max}
	var line []byte
	var err error
	for i := 0; i <= maxEmptyLines; i++ {
		l.seen = false // the stream may end after empty lines
		if line, err = l.line(); err != nil || len(line) > 0 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	r := &Request{}
	if r.Method, r.Target, r.Proto, err = parseRequestLine(line); err != nil {
		return nil, err
	}
	if r.Header, err = readFields(&l, ErrBadRequest); err != nil {
		return r, err
	}
	if r.ContentLength, err = requestLength(r.Header); err != nil {
		return r, err
	}
	return r, nil
}

// parseRequestLine splits "METHOD target HTTP/1.x".
func parseRequestLine(line []byte) (method, target, proto string, err error) {
	m, rest, ok1 := bytes.Cut(line, []byte{' '})
	t, p, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || !isToken(m) || !isTarget(t) {
		return "", "", "", ErrBadRequest
	}
	switch string(p) {
	case "HTTP/1.1":
		proto = "HTTP/1.1"
	case "HTTP/1.0":
		proto = "HTTP/1.0"
	default:
		if bytes.HasPrefix(p, []byte("HTTP/")) {
			return "", "", "", ErrProto
		}
		return "", "", "", ErrBadRequest
	}
	return string(m), string(t), proto, nil
}

// readFields reads header fields up to the empty line; a malformed field
// is bad.
func readFields(l *lineReader, bad error) (Header, error) {
	var h Header
	for {
		line, err := l.line()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return h, nil
		}
		f, ok := parseField(line)
		if !ok {
			return nil, bad
		}
		h = append(h, f)
	}
}

// parseField splits "Name: value", trimming blanks around the value. A
// name with blanks (and so an obsolete folded line) or a value with a
// control byte other than tab is refused.
func parseField(line []byte) (Field, bool) {
	name, value, ok := bytes.Cut(line, []byte{':'})
	if !ok || !isToken(name) {
		return Field{}, false
	}
	value = bytes.Trim(value, " \t")
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return Field{}, false
		}
	}
	return Field{string(name), string(value)}, true
}

// framing returns how the body of a message with header h is framed: by
// its length, chunked, or (length -1, not chunked) neither. Transfer-
// Encoding may only list identity and end with chunked; Content-Length
// fields (or list items) must agree.
func framing(h Header) (length int64, chunked bool, err error) {
	length = -1
	for _, f := range h {
		switch {
		case strings.EqualFold(f.Name, "Transfer-Encoding"):
			for v := f.Value; v != ""; {
				var c string
				c, v = nextItem(v)
				switch {
				case chunked:
					return 0, false, ErrBadRequest // chunked must be the last coding
				case strings.EqualFold(c, "chunked"):
					chunked = true
				case c != "" && !strings.EqualFold(c, "identity"):
					return 0, false, ErrBadRequest
				}
			}
		case strings.EqualFold(f.Name, "Content-Length"):
			for v := f.Value; ; {
				var item string
				item, v = nextItem(v)
				n, ok := parseLength(item)
				if !ok || length >= 0 && n != length {
					return 0, false, ErrBadRequest
				}
				if length = n; v == "" {
					break
				}
			}
		}
	}
	return length, chunked, nil
}

// requestLength is a request's ContentLength: -1 for chunked, 0 when the
// header announces no body.
func requestLength(h Header) (int64, error) {
	n, chunked, err := framing(h)
	switch {
	case err != nil:
		return 0, err
	case chunked:
		return -1, nil
	}
	return max(n, 0), nil
}

// parseLength parses a decimal Content-Length of at most 18 digits.
func parseLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v holds token
// (case-insensitive), as in "Connection: keep-alive, close".
func hasToken(v, token string) bool {
	for v != "" {
		var t string
		if t, v = nextItem(v); strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

// nextItem splits the first item, without blanks, off a comma-separated list.
func nextItem(list string) (item, rest string) {
	item, rest, _ = strings.Cut(list, ",")
	return strings.Trim(item, " \t"), rest
}

// isToken reports whether b is a non-empty RFC 9110 token (method, field name).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// isTarget reports whether b is a plausible request-target: visible ASCII.
func isTarget(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// readStatus reads a response's status line and header (at most max
// bytes), skipping interim 1xx responses.
func readStatus(br *bufio.Reader, max int) (*ClientResponse, error) {
	for {
		l := lineReader{br: br, left: max}
		line, err := l.line()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		r := &ClientResponse{}
		var ok bool
		if r.Status, r.Reason, ok = parseStatusLine(line); !ok {
			return nil, ErrBadResponse
		}
		if r.Header, err = readFields(&l, ErrBadResponse); err != nil {
			return nil, err
		}
		if r.Status >= 200 || r.Status == 101 {
			return r, nil
		}
	}
}

// parseStatusLine splits "HTTP/1.x 200 OK" (the reason may be empty).
func parseStatusLine(line []byte) (status int, reason string, ok bool) {
	s := string(line)
	if !strings.HasPrefix(s, "HTTP/1.") || len(s) < 12 || s[8] != ' ' {
		return 0, "", false
	}
	code, rest, _ := strings.Cut(s[9:], " ")
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || n < 100 {
		return 0, "", false
	}
	return n, rest, true
}
