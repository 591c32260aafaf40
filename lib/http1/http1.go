// Package http1 is a small HTTP/1.0 and HTTP/1.1 server and client for
// AF_UNIX stream sockets, written for the pv-ctrl socket: no net/http in
// the device binary. The server streams request and response bodies,
// answers 1.0 requests and closes, keeps 1.1 connections alive, and
// bounds request size, time and the number of connections.
package http1

import (
	"io"
	"strings"
)

// Field is one header line.
type Field struct{ Name, Value string }

// Header is a list of header fields in the order they were sent.
type Header []Field

// Get returns the value of the first field called name (case-insensitive), "" if none.
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field called name (case-insensitive) is present.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Set replaces every field called name by one with value.
func (h *Header) Set(name, value string) {
	h.Del(name)
	*h = append(*h, Field{name, value})
}

// Add appends a field, keeping fields of the same name.
func (h *Header) Add(name, value string) { *h = append(*h, Field{name, value}) }

// Del removes every field called name.
func (h *Header) Del(name string) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*h = out
}

// Request is a request as the server received it (Body is the decoded
// body: Content-Length or chunked, io.EOF at its end, never nil). The
// Request and its Body are valid until the handler returns.
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
func (r *Request) Path() string {
	p, _, _ := strings.Cut(r.Target, "?")
	return p
}

// Query returns the part of Target after '?', "" if none.
func (r *Request) Query() string {
	_, q, _ := strings.Cut(r.Target, "?")
	return q
}

// Reason returns the reason phrase the server sends with status
// (libevent's wording), "" for a code it does not know.
func Reason(status int) string {
	switch status {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 411:
		return "Length Required"
	case 413:
		return "Payload Too Large"
	case 417:
		return "Expectation Failed"
	case 422:
		return "Unprocessable Entity"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 507:
		return "Insufficient Storage"
	}
	return ""
}

// bodyless reports whether a response with status never has a body.
func bodyless(status int) bool { return status < 200 || status == 204 || status == 304 }
