package hubtest

import (
	"net"
	"net/http"
	"time"
)

// Request is one HTTP request the hub received (connections refused or
// held by Refuse/Hang never become requests).
type Request struct {
	Time       time.Time
	Method     string
	Path       string
	RawQuery   string
	Proto      string // "HTTP/1.0" or "HTTP/1.1"
	Host       string // the Host header
	UserAgent  string
	Authorized bool        // an Authorization header was present
	Header     http.Header // a copy of all headers
	Body       []byte      // the request body (object uploads: only the first 4 KiB)
	Status     int         // the status answered; 0 if the connection was dropped first
}

// Requests returns every request so far, in arrival order.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

// record appends r and returns its index; h.mu is not held.
func (h *Hub) record(r *http.Request, body []byte) int {
	if len(body) > 4096 {
		body = body[:4096]
	}
	req := Request{
		Time: time.Now(), Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Proto: r.Proto, Host: r.Host, UserAgent: r.UserAgent(),
		Authorized: r.Header.Get("Authorization") != "", Header: r.Header.Clone(),
		Body: append([]byte(nil), body...),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	return len(h.requests) - 1
}

func (h *Hub) setStatus(i, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests[i].Status = status
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// dropConn closes the request's connection without (more of) an answer.
// Hijack sends what was already written (headers, part of a body) first;
// an unwritten answer is never sent.
func dropConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	closeHard(conn)
}

// closeHard closes conn; a TCP connection is reset rather than shut down.
func closeHard(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // best effort: a plain close also cuts the connection
	}
	_ = conn.Close()
}
