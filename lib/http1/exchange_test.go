package http1

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// closeCounter is an in-memory connection that counts Close calls.
type closeCounter struct {
	fakeConn
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestExchange(t *testing.T) {
	tests := []struct {
		name, host, method, target string
		h                          Header
		body                       string
		length                     int64
		resp                       string
		wantReq                    string
		wantErr                    bool
		wantBody                   string
	}{
		{name: "get with host", host: "hub.example", method: "GET", target: "/devices/",
			h:       Header{{"Authorization", "Bearer t"}, {"Host", "evil"}, {"Connection", "keep-alive"}},
			resp:    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantReq: "GET /devices/ HTTP/1.1\r\nHost: hub.example\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n", wantBody: "ok"},
		{name: "ipv6 host, post body", host: "[::1]", method: "POST", target: "/x", body: "{}", length: 2,
			resp:    "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
			wantReq: "POST /x HTTP/1.1\r\nHost: [::1]\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", wantBody: "a"},
		{name: "host with CRLF", host: "a\r\nX: y", method: "GET", target: "/", resp: "", wantErr: true},
		{name: "bad method", host: "h", method: "G T", target: "/", wantErr: true},
		{name: "no response", host: "h", method: "GET", target: "/", resp: "",
			wantReq: "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &closeCounter{fakeConn: fakeConn{in: strings.NewReader(tt.resp)}}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r, err := Exchange(c, tt.host, tt.method, tt.target, tt.h, body, tt.length)
			if got := c.out.String(); tt.wantReq != "" && got != tt.wantReq {
				t.Errorf("sent %q\nwant %q", got, tt.wantReq)
			}
			if tt.wantErr {
				if err == nil || c.closed != 1 {
					t.Fatalf("err = %v, closed %d times; want an error and one Close", err, c.closed)
				}
				if strings.Contains(tt.host, "\n") && bytes.Contains(c.out.Bytes(), []byte("X: y")) {
					t.Fatalf("injected header sent: %q", c.out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			if string(b) != tt.wantBody || c.closed != 0 {
				t.Fatalf("body %q, closed %d before Body.Close", b, c.closed)
			}
			r.Body.Close()
			if c.closed != 1 {
				t.Fatalf("Body.Close closed the connection %d times", c.closed)
			}
		})
	}
}
