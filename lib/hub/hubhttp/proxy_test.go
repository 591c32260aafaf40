package hubhttp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// proxy is a test HTTP proxy: with connect it reads "CONNECT host:port
// HTTP/1.1", answers status and (for 200) pipes to that address;
// without, it forwards every connection to target as is. It records the
// first line (or first byte) each connection sent.
type proxy struct {
	ln      net.Listener
	connect bool
	status  string
	target  string
	seen    chan string
}

func startProxy(t *testing.T, connect bool, status, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, connect: connect, status: status, target: target, seen: make(chan string, 4)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	to := p.target
	if p.connect {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		for { // rest of the head
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if l == "\r\n" {
				break
			}
		}
		p.seen <- strings.TrimRight(line, "\r\n")
		io.WriteString(c, "HTTP/1.1 "+p.status+"\r\n\r\n")
		if !strings.HasPrefix(p.status, "200") {
			return
		}
		to = strings.Fields(line)[1]
	} else {
		b, err := br.Peek(1)
		if err != nil {
			return
		}
		p.seen <- string(b)
	}
	up, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, br)
	io.Copy(c, up)
}

func TestProxy(t *testing.T) {
	srv, ca := newHub(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })
	hub := srv.Listener.Addr().String()
	tests := []struct {
		name      string
		connect   bool // the proxy expects CONNECT
		status    string
		noConnect bool // Client.NoProxyConnect
		wantSeen  string
		err       error
	}{
		{name: "CONNECT tunnel", connect: true, status: "200 Connection established", wantSeen: "CONNECT " + hub + " HTTP/1.1"},
		{name: "CONNECT refused", connect: true, status: "403 Forbidden", wantSeen: "CONNECT " + hub + " HTTP/1.1", err: ErrProxy},
		{name: "CONNECT garbled", connect: true, status: "2x0 what", wantSeen: "CONNECT " + hub + " HTTP/1.1", err: ErrProxy},
		{name: "no CONNECT: TLS to the proxy", noConnect: true, wantSeen: "\x16"}, // a TLS handshake record
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, tt.connect, tt.status, hub)
			c := clientFor(t, srv, ca)
			c.ProxyHost, c.ProxyPort = hostPort(t, p.ln.Addr().String())
			c.NoProxyConnect = tt.noConnect
			r, err := c.Do(context.Background(), "GET", "/", nil, nil)
			if s := <-p.seen; s != tt.wantSeen {
				t.Errorf("proxy saw %q, want %q", s, tt.wantSeen)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrNoResponse) {
					t.Fatalf("err = %v, want %v (no response)", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := ReadBody(r, MaxBody)
			if err != nil || string(b) != "127.0.0.1" {
				t.Fatalf("body %q, %v", b, err)
			}
		})
	}
}

func TestProxyUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	host, port := hostPort(t, ln.Addr().String())
	ln.Close()
	c := &Client{Host: "hub.example", Insecure: true, ProxyHost: host, ProxyPort: port}
	_, err := c.Do(context.Background(), "GET", "/", nil, nil)
	if !errors.Is(err, ErrNoResponse) || !strings.Contains(err.Error(), "proxy "+ln.Addr().String()) {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectStatus(t *testing.T) {
	tests := []struct {
		head string
		want int
		ok   bool
	}{
		{"HTTP/1.1 200 Connection established\r\n\r\n", 200, true},
		{"HTTP/1.0 200\r\n\r\n", 200, true},
		{"HTTP/1.1 407 Proxy Authentication Required\r\nX: y\r\n\r\n", 407, true},
		{"HTTP/1.1 2000 x\r\n\r\n", 0, false},
		{"HTTP/2 200 OK\r\n\r\n", 0, false},
		{"HTTP/1.1 20x OK\r\n\r\n", 0, false},
		{"SSH-2.0-OpenSSH\r\n\r\n", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		n, err := connectStatus([]byte(tt.head))
		if n != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrProxy)) {
			t.Errorf("connectStatus(%q) = %d, %v", tt.head, n, err)
		}
	}
}

func TestReadHead(t *testing.T) {
	r := strings.NewReader("HTTP/1.1 200 OK\r\nA: b\r\n\r\n\x16tunnel")
	h, err := readHead(r, 100)
	if err != nil || string(h) != "HTTP/1.1 200 OK\r\nA: b\r\n\r\n" {
		t.Fatalf("head %q, %v", h, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "\x16tunnel" {
		t.Fatalf("tunnel bytes consumed: left %q", rest)
	}
	if _, err := readHead(strings.NewReader(strings.Repeat("a", 200)), 100); !errors.Is(err, ErrProxy) {
		t.Fatalf("long head: %v", err)
	}
	if _, err := readHead(strings.NewReader("HTTP/1.1 200"), 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short head: %v", err)
	}
}

func FuzzConnectStatus(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 407\r\n\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		n, err := connectStatus(head)
		if err == nil && (n < 0 || n > 999) {
			t.Fatalf("%q: status %d", head, n)
		}
	})
}
