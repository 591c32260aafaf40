package hubhttp

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pantavisor/lib/http1"
)

func TestUserAgent(t *testing.T) {
	got := UserAgent("x86_64", "019-12-gabc", "2026-12-07")
	want := "Pantavisor/2 (Linux; x86_64) PV/019-12-gabc Date/2026-12-07"
	if got != want {
		t.Fatalf("UserAgent = %q, want %q", got, want)
	}
}

func TestTLSVerification(t *testing.T) {
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	otherCA := otherCA(t)
	caDir := filepath.Dir(ca)
	os.WriteFile(filepath.Join(caDir, "README.txt"), []byte("not a cert"), 0o644)
	addr := srv.Listener.Addr().String()
	tests := []struct {
		name   string
		edit   func(c *Client)
		noResp bool  // a *NetError of class ErrNoResponse
		other  error // another error expected
	}{
		{name: "verified by IP SAN", edit: func(c *Client) {}},
		{name: "CA directory", edit: func(c *Client) { c.CAFile = caDir }},
		{name: "preloaded roots", edit: func(c *Client) { c.CAFile = "/nonexistent"; c.Roots, _ = LoadCA(ca) }},
		{name: "DNS name in certificate", edit: func(c *Client) { c.Host, c.Dialer = "example.com", redirect{addr} }},
		{name: "wrong CA", edit: func(c *Client) { c.CAFile = otherCA }, noResp: true},
		{name: "wrong CA insecure", edit: func(c *Client) { c.CAFile, c.Insecure = otherCA, true }},
		{name: "hostname mismatch", edit: func(c *Client) { c.Host, c.Dialer = "hub.invalid", redirect{addr} }, noResp: true},
		{name: "hostname mismatch insecure", edit: func(c *Client) { c.Host, c.Dialer, c.Insecure = "hub.invalid", redirect{addr}, true }},
		{name: "missing CA file", edit: func(c *Client) { c.CAFile = "/nonexistent/ca.pem" }, other: os.ErrNotExist},
		{name: "CA dir without certificates", edit: func(c *Client) { c.CAFile = t.TempDir() }, other: ErrNoCA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFor(t, srv, ca)
			tt.edit(c)
			r, err := c.Do(context.Background(), "GET", "/", nil, nil)
			switch {
			case tt.noResp:
				var ne *NetError
				if !errors.Is(err, ErrNoResponse) || !errors.As(err, &ne) {
					t.Fatalf("err = %v, want a *NetError (no response)", err)
				}
			case tt.other != nil:
				if !errors.Is(err, tt.other) || errors.Is(err, ErrNoResponse) {
					t.Fatalf("err = %v, want %v and not ErrNoResponse", err, tt.other)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				b, err := ReadBody(r, MaxBody)
				if err != nil || string(b) != "ok" || r.Status != 200 {
					t.Fatalf("got %d %q %v", r.Status, b, err)
				}
			}
		})
	}
}

func TestRequestHead(t *testing.T) {
	type seen struct {
		method, uri, host, ua, auth, ctype, body, extra string
		close                                           bool
	}
	got := make(chan seen, 1)
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.UserAgent(), r.Header.Get("Authorization"),
			r.Header.Get("Content-Type"), string(b), r.Header.Get("Pantahub-Devices-Auto-Token-V1"), r.Close}
	})
	c := clientFor(t, srv, ca)
	c.UserAgent = UserAgent("aarch64", "1.2", "20261207")
	c.Token = "tok123"
	extra := http1.Header{{Name: "Pantahub-Devices-Auto-Token-V1", Value: "auto"}, {Name: "User-Agent", Value: "spoof"}}
	r, err := c.Do(context.Background(), "POST", "/devices/?x=1", []byte(`{"a":1}`), extra)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	want := seen{"POST", "/devices/?x=1", "127.0.0.1", "Pantavisor/2 (Linux; aarch64) PV/1.2 Date/20261207",
		"Bearer tok123", "application/json", `{"a":1}`, "auto", true}
	if s := <-got; s != want {
		t.Fatalf("server saw %+v\nwant %+v", s, want)
	}
	// Without a body or token: no Content-Type, no Authorization.
	c.Token = ""
	if r, err = c.Do(context.Background(), "GET", "/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if s := <-got; s.auth != "" || s.ctype != "" || s.body != "" {
		t.Fatalf("bodyless tokenless request carried %+v", s)
	}
}

func TestReadBody(t *testing.T) {
	const limit = 100
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) {
		n := len(r.URL.Path) - 1 // "/xxxx": n bytes
		if r.URL.Query().Get("chunked") != "" {
			for i := 0; i < n; i++ {
				w.Write([]byte("a"))
				w.(http.Flusher).Flush() // several chunks
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write([]byte(strings.Repeat("a", n)))
	})
	c := clientFor(t, srv, ca)
	tests := []struct {
		name    string
		n       int
		chunked bool
		err     error
	}{
		{"length small", 5, false, nil},
		{"length at limit", limit, false, nil},
		{"length over limit", limit + 1, false, ErrBodyTooLarge},
		{"chunked small", 5, true, nil},
		{"chunked at limit", limit, true, nil},
		{"chunked over limit", limit + 1, true, ErrBodyTooLarge},
		{"empty", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/" + strings.Repeat("x", tt.n)
			if tt.chunked {
				path += "?chunked=1"
			}
			r, err := c.Do(context.Background(), "GET", path, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked && r.ContentLength != -1 || !tt.chunked && r.ContentLength != int64(tt.n) {
				t.Fatalf("ContentLength = %d for chunked=%v", r.ContentLength, tt.chunked)
			}
			b, err := ReadBody(r, limit)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && string(b) != strings.Repeat("a", tt.n) {
				t.Fatalf("body %q", b)
			}
		})
	}
}

func TestExpect(t *testing.T) {
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/401":
			w.WriteHeader(401)
		case "/500":
			w.WriteHeader(500)
		}
	})
	c := clientFor(t, srv, ca)
	c.Token = "very-secret-token"
	tests := []struct {
		path  string
		ok    []int
		want  int // 0: no error
		unath bool
	}{
		{"/200", nil, 0, false},
		{"/401", nil, 401, true},
		{"/500", nil, 500, false},
		{"/500", []int{200, 500}, 0, false},
		{"/200", []int{206}, 200, false},
	}
	for _, tt := range tests {
		r, err := c.Do(context.Background(), "GET", tt.path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = r.Expect(tt.ok...)
		var se *StatusError
		if tt.want == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.path, err)
			}
			r.Body.Close()
			continue
		}
		if !errors.As(err, &se) || se.Status != tt.want || errors.Is(err, ErrNoResponse) ||
			errors.Is(err, ErrUnauthorized) != tt.unath {
			t.Errorf("%s %v: err = %v", tt.path, tt.ok, err)
		}
		if strings.Contains(err.Error(), c.Token) {
			t.Errorf("error %q shows the token", err)
		}
	}
}

// TestTokenNotInErrors: a request with a token (and a signed URL) that
// gets no answer fails without the token or URL in the error text.
func TestTokenNotInErrors(t *testing.T) {
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // no response at all
		}
	})
	c := clientFor(t, srv, ca)
	const token, jwt = "eyJhbGciOi.SECRET-TOKEN.sig", "SIGNED-JWT-PATH"
	c.Token = token
	_, err1 := c.Do(context.Background(), "PUT", "/devices/abc", []byte(`{"secret":"x"}`), http1.Header{{Name: "X-Cred", Value: token}})
	_, err2 := c.GetURL(context.Background(), srv.URL+"/local-s3/"+jwt+"?sig="+token, 10)
	for _, err := range []error{err1, err2} {
		if !errors.Is(err, ErrNoResponse) {
			t.Fatalf("err = %v, want no response", err)
		}
		if s := err.Error(); strings.Contains(s, token) || strings.Contains(s, jwt) || strings.Contains(s, "SECRET") {
			t.Fatalf("error %q shows a credential", s)
		}
	}
}

// TestTimeout: a server that accepts and never answers, at the TCP level
// and after the TLS handshake, fails with a no-response timeout.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never read, never answer
		}
	}()
	release := make(chan struct{})
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("abc"))
			w.(http.Flusher).Flush()
		}
		<-release
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	silent := &Client{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, CAFile: ca}
	tests := []struct {
		name string
		c    *Client
		path string
	}{
		{"no TLS handshake", silent, "/"},
		{"no HTTP answer", clientFor(t, srv, ca), "/"},
		{"stalled body", clientFor(t, srv, ca), "/body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Timeout = 200 * time.Millisecond
			r, err := tt.c.Do(context.Background(), "GET", tt.path, nil, nil)
			if err == nil {
				_, err = ReadBody(r, MaxBody)
			}
			var ne *NetError
			if !errors.Is(err, ErrNoResponse) || !errors.As(err, &ne) {
				t.Fatalf("err = %v, want a no-response *NetError", err)
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want a deadline", err)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	release := make(chan struct{})
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	c := clientFor(t, srv, ca)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.Do(ctx, "GET", "/", nil, nil)
	if !errors.Is(err, ErrNoResponse) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want no response, canceled", err)
	}
}

func TestIPv6(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("SKIP: no IPv6 loopback on this machine (listen [::1]: %v)", err)
	}
	host := make(chan string, 1)
	srv := newUnstartedHub(func(w http.ResponseWriter, r *http.Request) { host <- r.Host })
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := clientFor(t, srv, writeCA(t, srv))
	if c.Host != "::1" {
		t.Fatalf("host %q", c.Host)
	}
	r, err := c.Do(context.Background(), "GET", "/", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if h := <-host; h != "[::1]" {
		t.Fatalf("Host header %q, want [::1]", h)
	}
}

// TestInvalidRequest: a bad host, method or path is a local error, never
// of the no-response class (it must not count toward offline).
func TestInvalidRequest(t *testing.T) {
	srv, ca := newHub(t, func(http.ResponseWriter, *http.Request) {})
	tests := []struct{ host, method, path string }{
		{"", "GET", "/"},
		{"a b", "GET", "/"},
		{"a\r\nX: y", "GET", "/"},
		{"a/b", "GET", "/"},
		{"127.0.0.1", "G T", "/"},
		{"127.0.0.1", "", "/"},
		{"127.0.0.1", "GET", "/a b"},
		{"127.0.0.1", "GET", "/a\r\nX: y"},
		{"127.0.0.1", "GET", "noslash"},
		{"127.0.0.1", "GET", ""},
	}
	for _, tt := range tests {
		c := clientFor(t, srv, ca)
		c.Host = tt.host
		_, err := c.Do(context.Background(), tt.method, tt.path, nil, nil)
		if err == nil || errors.Is(err, ErrNoResponse) {
			t.Errorf("%q %q %q: err = %v, want a local error", tt.host, tt.method, tt.path, err)
		}
	}
}

func TestLoadCA(t *testing.T) {
	srv, ca := newHub(t, func(http.ResponseWriter, *http.Request) {})
	_ = srv
	dir := t.TempDir()
	b, _ := os.ReadFile(ca)
	os.WriteFile(filepath.Join(dir, "hub.pem"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "skip.txt"), []byte("junk"), 0o644)
	junk := filepath.Join(t.TempDir(), "junk.crt")
	os.WriteFile(junk, []byte("not pem"), 0o644)
	tests := []struct {
		path string
		err  error
	}{
		{ca, nil},
		{dir, nil},
		{filepath.Dir(junk), ErrNoCA},
		{junk, ErrNoCA},
		{filepath.Join(dir, "missing"), os.ErrNotExist},
	}
	for _, tt := range tests {
		p, err := LoadCA(tt.path)
		if !errors.Is(err, tt.err) || (err == nil) != (p != nil) {
			t.Errorf("LoadCA(%s) = %v, %v; want %v", tt.path, p, err, tt.err)
		}
	}
}
