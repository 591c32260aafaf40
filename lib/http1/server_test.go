package http1

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/unixsock"
)

// echo answers "<method> <target> <pid?> <body>" as text, or streams when
// the path is /stream, or fails as the path says.
func echo(w *Response, r *Request) {
	switch r.Path() {
	case "/stream":
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(200, -1)
		for i := 0; i < 3; i++ {
			w.Write([]byte("part" + strconv.Itoa(i) + "\n"))
		}
		return
	case "/nothing":
		return
	case "/panic":
		panic("boom")
	case "/busy":
		w.Header().Set("Retry-After", "5")
		w.Send(503, "application/json", []byte(`{"Error":"busy"}`))
		return
	case "/nocontent":
		w.Send(204, "application/json", []byte("dropped"))
		return
	case "/hash":
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			w.Send(400, "text/plain", []byte(err.Error()))
			return
		}
		w.Send(200, "text/plain", []byte(strconv.FormatInt(n, 10)+" "+hex.EncodeToString(h.Sum(nil))))
		return
	case "/ignore":
		w.Send(200, "", []byte("ignored"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.Send(400, "text/plain", []byte(err.Error()))
		return
	}
	w.Send(200, "text/plain", []byte(r.Method+" "+r.Target+" "+string(body)))
}

// serve starts a server with handler h (echo if nil) on a socket in a
// temporary directory; tune may set limits first.
func serve(t testing.TB, h Handler, tune func(*Server)) (*Server, string) {
	t.Helper()
	if h == nil {
		h = echo
	}
	s := &Server{Handler: h}
	if tune != nil {
		tune(s)
	}
	path := filepath.Join(t.TempDir(), "pv-ctrl")
	require.NoError(t, s.Listen(path))
	t.Cleanup(func() { s.Close() })
	return s, path
}

// raw sends req on a new connection, half-closes if asked (nc -N), and
// returns everything the server sends until it closes.
func raw(t testing.TB, path, req string, halfClose bool) string {
	t.Helper()
	c, err := unixsock.Dial(path, time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = c.Write([]byte(req))
	require.NoError(t, err)
	if halfClose {
		require.NoError(t, unixsock.ShutdownWrite(c))
	}
	got, err := io.ReadAll(c)
	require.NoError(t, err, "the server closes after answering")
	return string(got)
}

func TestServerRaw(t *testing.T) {
	_, path := serve(t, nil, nil)
	tests := []struct {
		name, req, want string
		halfClose       bool
	}{
		{"pvcurl 1.0 PUT half-closes", "PUT /x HTTP/1.0\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc",
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nPUT /x abc", true},
		{"1.0 GET waits for close", "GET /containers HTTP/1.0\r\nHost: localhost\r\n\r\n",
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nGET /containers ", false},
		{"1.1 close", "POST /a?b=c HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nhi",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nPOST /a?b=c hi", false},
		{"chunked request", "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\nPUT /c abc0123456789", false},
		{"1.1 streamed is chunked", "GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\npart0\n\r\n6\r\npart1\n\r\n6\r\npart2\n\r\n0\r\n\r\n", false},
		{"1.0 streamed until close", "GET /stream HTTP/1.0\r\n\r\n",
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\npart0\npart1\npart2\n", false},
		{"no response is 500", "GET /nothing HTTP/1.0\r\n\r\n",
			"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false},
		{"panic is 500", "GET /panic HTTP/1.1\r\n\r\n",
			"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false},
		{"handler header", "GET /busy HTTP/1.0\r\n\r\n",
			"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"Error\":\"busy\"}", false},
		{"204 has no body", "GET /nocontent HTTP/1.0\r\n\r\n",
			"HTTP/1.0 204 No Content\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n", false},
		{"HEAD has no body", "HEAD /x HTTP/1.0\r\n\r\n",
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: close\r\n\r\n", false},
		{"other host dropped", "GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n", "", false},
		{"empty host kept", "GET /x HTTP/1.0\r\nHost:\r\n\r\n",
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nGET /x ", false},
		{"HTTP/2", "GET / HTTP/2.0\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 33\r\nConnection: close\r\n\r\n{\"Error\": \"Unsupported protocol\"}", false},
		{"garbage", "hello\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"Error\":\"Bad request\"}", false},
		{"truncated head", "GET / HTTP/1.1\r\nA: b", "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"Error\":\"Bad request\"}", true},
		{"header too big", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n",
			"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\nContent-Length: 36\r\nConnection: close\r\n\r\n{\"Error\":\"Request header too large\"}", false},
		{"eof at once", "", "", true},
		// A request whose line was read is answered in its own version.
		{"1.0 bad header", "GET / HTTP/1.0\r\nHost\r\n\r\n",
			"HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"Error\":\"Bad request\"}", false},
		{"1.0 bad framing", "PUT / HTTP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
			"HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"Error\":\"Bad request\"}", false},
		{"1.0 truncated head", "GET / HTTP/1.0\r\nA: b", "HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"Error\":\"Bad request\"}", true},
		{"1.0 header too big", "GET / HTTP/1.0\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n",
			"HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\nContent-Length: 36\r\nConnection: close\r\n\r\n{\"Error\":\"Request header too large\"}", false},
		{"1.0 request line too big", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.0\r\n\r\n",
			"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json\r\nContent-Length: 36\r\nConnection: close\r\n\r\n{\"Error\":\"Request header too large\"}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, raw(t, path, tt.req, tt.halfClose))
		})
	}
}

func TestKeepAlive(t *testing.T) {
	_, path := serve(t, nil, nil)
	// pipelined: the second request is in the buffer with the first; the
	// first leaves its body unread (drained)
	got := raw(t, path, "PUT /ignore HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /two HTTP/1.1\r\n\r\nGET /three HTTP/1.1\r\nConnection: close\r\n\r\n", false)
	assert.Equal(t, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nignored"+
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nGET /two "+
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nGET /three ", got)
}

func TestExpectContinue(t *testing.T) {
	_, path := serve(t, nil, nil)
	c, err := unixsock.Dial(path, time.Second)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write([]byte("PUT /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"))
	require.NoError(t, err)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	line, err = br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "\r\n", line)
	_, err = c.Write([]byte("data"))
	require.NoError(t, err)
	require.NoError(t, unixsock.ShutdownWrite(c))
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nPUT /up data", string(rest))
}

func TestClient(t *testing.T) {
	var mu sync.Mutex
	var seen []*Request
	_, path := serve(t, func(w *Response, r *Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		echo(w, r)
	}, nil)
	c := &Client{Socket: path, Timeout: 10 * time.Second}
	tests := []struct {
		name, method, target string
		body                 string
		length               int64
		status               int
		want                 string
		wantLen              int64
	}{
		{"get", "GET", "/containers", "", 0, 200, "GET /containers ", 16},
		{"put", "PUT", "/x", "abc", 3, 200, "PUT /x abc", 10},
		{"chunked", "POST", "/y", "hello world", -1, 200, "POST /y hello world", 19},
		{"streamed", "GET", "/stream", "", 0, 200, "part0\npart1\npart2\n", -1},
		{"busy", "GET", "/busy", "", 0, 503, `{"Error":"busy"}`, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			resp, err := c.Do(tt.method, tt.target, Header{{"X-Test", "1"}}, body, tt.length)
			require.NoError(t, err)
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.Status)
			assert.Equal(t, Reason(tt.status), resp.Reason)
			assert.Equal(t, tt.want, string(got))
			assert.Equal(t, tt.wantLen, resp.ContentLength)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen)
	assert.Equal(t, os.Getpid(), seen[0].PeerPid)
	assert.Equal(t, "localhost", seen[0].Header.Get("host"))
	assert.Equal(t, "1", seen[0].Header.Get("X-Test"))
	assert.Equal(t, "HTTP/1.1", seen[0].Proto)
}
