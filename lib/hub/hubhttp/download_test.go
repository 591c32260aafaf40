package hubhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGetURL(t *testing.T) {
	obj := bytes.Repeat([]byte("0123456789"), 100) // 1000 bytes
	type seen struct{ uri, auth, rng string }
	got := make(chan seen, 1)
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("Range")}
		switch {
		case strings.HasPrefix(r.URL.Path, "/norange/"):
			w.Write(obj) // ignores Range
		case strings.HasPrefix(r.URL.Path, "/badrange/"):
			w.Header().Set("Content-Range", "bytes 0-999/1000")
			w.WriteHeader(206)
			w.Write(obj)
		case strings.HasPrefix(r.URL.Path, "/missing/"):
			http.NotFound(w, r)
		default:
			http.ServeContent(w, r, "obj", time.Time{}, bytes.NewReader(obj))
		}
	})
	c := clientFor(t, srv, ca)
	c.Token = "device-token" // never sent to a signed URL
	base := srv.URL          // https://127.0.0.1:port
	tests := []struct {
		name    string
		url     string
		offset  int64
		status  int
		restart bool
		start   int64 // Offset
		total   int64
		err     error
		wantURI string
		wantRng string
	}{
		{name: "whole", url: base + "/local-s3/jwt1", status: 200, total: 1000, wantURI: "/local-s3/jwt1"},
		{name: "resume", url: base + "/local-s3/jwt1", offset: 300, status: 206, start: 300, total: 1000,
			wantURI: "/local-s3/jwt1", wantRng: "bytes=300-"},
		{name: "range ignored: restart", url: base + "/norange/jwt", offset: 300, status: 200, restart: true, total: 1000,
			wantURI: "/norange/jwt", wantRng: "bytes=300-"},
		{name: "query dropped", url: base + "/local-s3/jwt2?X-Amz-Signature=abc&b=2", status: 200, total: 1000,
			wantURI: "/local-s3/jwt2"},
		{name: "escaped path kept", url: base + "/local-s3/a%2Fb", status: 200, total: 1000, wantURI: "/local-s3/a%2Fb"},
		{name: "content-range not at offset", url: base + "/badrange/x", offset: 300, err: ErrBadRange,
			wantURI: "/badrange/x", wantRng: "bytes=300-"},
		{name: "not found", url: base + "/missing/x", err: &StatusError{}, wantURI: "/missing/x"},
		{name: "http refused", url: "http://127.0.0.1:1/x", err: ErrHTTPSMandatory},
		{name: "no scheme refused", url: "127.0.0.1/x", err: ErrHTTPSMandatory},
		{name: "no host", url: "https:///x", err: ErrBadURL},
		{name: "bad port", url: "https://h:99999/x", err: ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := c.GetURL(context.Background(), tt.url, tt.offset)
			if tt.wantURI != "" {
				if s := <-got; s != (seen{tt.wantURI, "", tt.wantRng}) {
					t.Errorf("server saw %+v, want uri %q range %q, no Authorization", s, tt.wantURI, tt.wantRng)
				}
			}
			if tt.err != nil {
				var se *StatusError
				if _, ok := tt.err.(*StatusError); ok && errors.As(err, &se) && se.Status == 404 {
					return
				}
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(d.Body)
			d.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != tt.status || d.Restart != tt.restart || d.Offset != tt.start || d.Total != tt.total ||
				d.Length != int64(len(b)) || !bytes.Equal(b, obj[d.Offset:]) {
				t.Fatalf("got status %d restart %v offset %d total %d length %d (%d bytes read)",
					d.Status, d.Restart, d.Offset, d.Total, d.Length, len(b))
			}
		})
	}
}

func TestForURL(t *testing.T) {
	c := &Client{Host: "api.pantahub.com", Port: 443, Token: "t", Insecure: true}
	tests := []struct {
		url, host string
		port      int
		path      string
	}{
		{"https://hub.example/x/y?q=1", "hub.example", 443, "/x/y"},
		{"https://hub.example:12365/local-s3/jwt", "hub.example", 12365, "/local-s3/jwt"},
		{"https://[::1]:8443/o", "::1", 8443, "/o"},
		{"https://hub.example", "hub.example", 443, "/"},
		{"HTTPS://hub.example/a", "hub.example", 443, "/a"},
	}
	for _, tt := range tests {
		d, path, err := c.forURL(tt.url)
		if err != nil || d.Host != tt.host || d.Port != tt.port || path != tt.path || d.Token != "" || !d.Insecure {
			t.Errorf("forURL(%q) = %+v %q %v", tt.url, d, path, err)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		first, total int64
		ok           bool
	}{
		{"bytes 300-999/1000", 300, 1000, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 300-999/999", 0, 0, false}, // last beyond total
		{"bytes 9-5/10", 0, 0, false},
		{"bytes */1000", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"bytes -1-2/3", 0, 0, false},
		{"bytes +1-2/3", 0, 0, false},
		{"bytes 1 -2/3", 0, 0, false},
		{"bytes 1-99999999999999999999/*", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		f, tot, ok := parseContentRange(tt.in)
		if f != tt.first || tot != tt.total || ok != tt.ok {
			t.Errorf("parseContentRange(%q) = %d %d %v", tt.in, f, tot, ok)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 300-999/1000", "bytes 5-9/*", "bytes */1000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		first, total, ok := parseContentRange(s)
		if ok && (first < 0 || total < -1 || total == 0 || (total > 0 && first >= total)) {
			t.Fatalf("%q: first %d total %d", s, first, total)
		}
	})
}
