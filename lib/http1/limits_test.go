package http1

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/connlimit"
	"pantavisor/lib/unixsock"
)

// blocker is a handler that holds /block requests until release is closed.
type blocker struct {
	entered chan struct{}
	release chan struct{}
	done    atomic.Int32
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blocker) handle(w *Response, r *Request) {
	if r.Path() == "/block" {
		b.entered <- struct{}{}
		<-b.release
		b.done.Add(1)
	}
	echo(w, r)
}

func get(t testing.TB, path, target string) (int, string) {
	t.Helper()
	resp, err := (&Client{Socket: path, Timeout: 10 * time.Second}).Do("GET", target, nil, nil, 0)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.Status, string(b)
}

func TestMaxConns(t *testing.T) {
	b := newBlocker()
	_, path := serve(t, b.handle, func(s *Server) { s.MaxConns = 2 })
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := get(t, path, "/block")
			assert.Equal(t, 200, status)
		}()
	}
	<-b.entered
	<-b.entered
	got := raw(t, path, "GET /x HTTP/1.1\r\n\r\n", true)
	assert.Equal(t, refused, got)
	close(b.release)
	wg.Wait()
	// the blocked connections end just after their clients read the answers
	require.Eventually(t, func() bool {
		return !strings.Contains(rawLenient(t, path, "GET /after HTTP/1.1\r\n\r\n"), "503")
	}, 10*time.Second, 10*time.Millisecond)
	status, body := get(t, path, "/after")
	assert.Equal(t, 200, status)
	assert.Equal(t, "GET /after ", body)
}

func TestSlowClientDoesNotBlockOthers(t *testing.T) {
	_, path := serve(t, nil, nil)
	slow, err := unixsock.Dial(path, time.Second)
	require.NoError(t, err)
	defer slow.Close()
	stop := make(chan struct{})
	dripped := make(chan struct{})
	go func() { // one byte at a time, slower than the requests below
		defer close(dripped)
		req := "PUT /slow HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("x", 1000)
		for i := 0; i < len(req); i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := slow.Write([]byte{req[i]}); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		status, body := get(t, path, "/fast"+strconv.Itoa(i))
		require.Equal(t, 200, status)
		require.Equal(t, "GET /fast"+strconv.Itoa(i)+" ", body)
	}
	close(stop)
	<-dripped
}

func TestTimeouts(t *testing.T) {
	short := func(s *Server) {
		s.IdleTimeout = 50 * time.Millisecond
		s.HeaderTimeout = 50 * time.Millisecond
		s.ReadTimeout = 50 * time.Millisecond
	}
	_, path := serve(t, nil, short)
	stalled := "read " + path + ": i/o timeout"
	tests := []struct {
		name, send, want string
	}{
		{"idle keep-alive closes", "GET /a HTTP/1.1\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nGET /a "},
		{"nothing sent", "", ""},
		{"header never ends", "GET /a HTTP/1.1\r\nX: y\r\n", ""},
		{"body stalls", "PUT /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nab",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(stalled)) +
				"\r\nConnection: close\r\n\r\n" + stalled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// the client keeps its side open: only the server's timeouts end it
			assert.Equal(t, tt.want, raw(t, path, tt.send, false))
		})
	}
}

func TestUndrainableBodyCloses(t *testing.T) {
	_, path := serve(t, nil, nil)
	c, err := unixsock.Dial(path, time.Second)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		c.Write([]byte("PUT /ignore HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n"))
		c.Write(make([]byte, 1<<20)) // fails once the server closes
		c.Write([]byte("GET /two HTTP/1.1\r\n\r\n"))
	}()
	got, _ := io.ReadAll(c) // a reset after the response is fine
	assert.Equal(t, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nignored", string(got))
}

func TestCloseWaitsForHandlers(t *testing.T) {
	b := newBlocker()
	s, path := serve(t, b.handle, nil)
	go (&Client{Socket: path}).Do("GET", "/block", nil, nil, 0) // its connection is closed by Close
	<-b.entered
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	time.Sleep(20 * time.Millisecond) // let Close start waiting
	assert.Zero(t, b.done.Load())
	close(b.release)
	<-closed
	assert.EqualValues(t, 1, b.done.Load(), "Close returned after the handler")
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket file is removed")
	assert.NoError(t, s.Close(), "a second Close is harmless")
}

// malformed returns the i-th generated bad request: each is answered with
// 400 or 431 or dropped.
func malformed(rng *rand.Rand, i int) string {
	junk := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Intn(256))
			if b[i] == '\n' {
				b[i] = 0
			}
		}
		return string(b)
	}
	ctl := string([]byte{byte(rng.Intn(32))&^0x08 | 1}) // a control byte other than tab or LF
	switch i % 12 {
	case 0:
		return junk(1+rng.Intn(200)) + "\r\n\r\n"
	case 1:
		return "GET /" + ctl + " HTTP/1.1\r\n\r\n"
	case 2:
		return fmt.Sprintf("GET / HTTP/%d.%d\r\n\r\n", 2+rng.Intn(8), rng.Intn(10))
	case 3:
		return "GET / HTTP/1.1\r\nX-" + strconv.Itoa(i) + ": a" + ctl + "b\r\n\r\n"
	case 4:
		return "GET / HTTP/1.1\r\nNo colon " + strconv.Itoa(i) + "\r\n\r\n"
	case 5:
		return "PUT / HTTP/1.1\r\nContent-Length: " + strconv.Itoa(-1-rng.Intn(1000)) + "\r\n\r\n"
	case 6:
		return "PUT / HTTP/1.1\r\nTransfer-Encoding: " + []string{"gzip", "chunked, gzip", "x"}[rng.Intn(3)] + "\r\n\r\n"
	case 7:
		return "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", DefaultMaxHeaderBytes+rng.Intn(5000)) + "\r\n\r\n"
	case 8:
		return "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + junk(1+rng.Intn(20)) + "\r\n"
	case 9:
		return "GET / HTTP/1.1\r\nHost: " + junk(1+rng.Intn(20))
	case 10:
		return "GET / HTTP/1.1\r\n" + strings.Repeat("A: b\r\n", rng.Intn(50)) // cut: the client half-closes
	}
	return "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: " + strconv.Itoa(2+rng.Intn(100)) + "\r\n\r\n"
}

func TestMalformedFlood(t *testing.T) {
	_, path := serve(t, nil, nil)
	rng := rand.New(rand.NewSource(1))
	reqs := make([]string, 1000)
	for i := range reqs {
		reqs[i] = malformed(rng, i)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				got := rawLenient(t, path, reqs[i])
				ok := got == "" || strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") ||
					strings.HasPrefix(got, "HTTP/1.1 431 ")
				assert.True(t, ok, "request %d %q got %q", i, reqs[i], got)
			}
		}()
	}
	for i := range reqs {
		work <- i
	}
	close(work)
	wg.Wait()
	status, _ := get(t, path, "/still")
	assert.Equal(t, 200, status)
}

// rawLenient is raw that tolerates a failed write or a reset (the server
// may close before reading everything).
func rawLenient(t testing.TB, path, req string) string {
	c, err := unixsock.Dial(path, time.Second)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(req))
	unixsock.ShutdownWrite(c)
	got, _ := io.ReadAll(c)
	return string(got)
}

// pattern is an endless reader of non-zero bytes.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 1)
	}
	return len(p), nil
}

func hashOf(n int64) string {
	h := sha256.New()
	io.Copy(h, io.LimitReader(pattern{}, n))
	return strconv.FormatInt(n, 10) + " " + hex.EncodeToString(h.Sum(nil))
}

// TestBigBodyConstantMemory streams 200 MB through a hashing handler
// (Content-Length and chunked) while sampling the heap.
func TestBigBodyConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 400 MB")
	}
	const size = 200 << 20
	want := hashOf(size)
	_, path := serve(t, nil, nil)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	c := &Client{Socket: path, Timeout: time.Minute}
	for _, length := range []int64{size, -1} {
		resp, err := c.Do("PUT", "/hash", nil, io.LimitReader(pattern{}, size), length)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, 200, resp.Status)
		assert.Equal(t, want, string(got), "length %d", length)
	}
	close(stop)
	<-sampled
	grown := int64(peak.Load()) - int64(base)
	t.Logf("heap in use: base %d KiB, peak %d KiB", base>>10, peak.Load()>>10)
	assert.Less(t, grown, int64(16<<20), "heap grew by %d bytes", grown)
}

// TestCurl talks to the server with Debian's curl, the way pvcontrol does.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("SKIPPED: curl is not installed; install Debian's curl to run the curl compatibility test")
	}
	_, path := serve(t, nil, nil)
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	const size = 3 << 20 // over 1 MB: curl sends Expect: 100-continue
	f, err := os.Create(big)
	require.NoError(t, err)
	_, err = io.Copy(f, io.LimitReader(pattern{}, size))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"get", []string{"http://localhost/containers"}, "GET /containers "},
		{"get 1.0", []string{"--http1.0", "http://localhost/containers"}, "GET /containers "},
		{"put json", []string{"-X", "PUT", "--data", `{"action":"stop"}`, "http://localhost/containers/a"}, `PUT /containers/a {"action":"stop"}`},
		{"objects put", []string{"-X", "PUT", "-T", big, "-H", "Content-Type: application/octet-stream",
			"-H", "Transfer-Encoding: identity", "http://localhost/hash"}, hashOf(size)},
		{"chunked upload", []string{"-X", "PUT", "-T", "-", "http://localhost/hash"}, hashOf(size)},
		{"streamed", []string{"http://localhost/stream"}, "part0\npart1\npart2\n"},
		{"keep-alive twice", []string{"http://localhost/one", "http://localhost/two"}, "GET /one GET /two "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-sS", "--fail-with-body", "--max-time", "60", "--unix-socket", path}, tt.args...)
			cmd := exec.Command(curl, args...)
			if tt.name == "chunked upload" {
				cmd.Stdin = io.LimitReader(pattern{}, size)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, stderr.String())
			assert.Equal(t, tt.want, string(out))
		})
	}
}

func TestClassLimits(t *testing.T) {
	b := newBlocker()
	var mu sync.Mutex
	var who connlimit.Peer
	_, path := serve(t, b.handle, func(s *Server) {
		s.MaxConns = 4
		s.ClassLimits = connlimit.Limits{Host: 1, Mgmt: 1, PerContainer: 1}
		s.Classify = func(int) connlimit.Peer { mu.Lock(); defer mu.Unlock(); return who }
	})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(b.release)
	steps := []struct {
		peer  connlimit.Peer
		admit bool
	}{
		{connlimit.Peer{Class: connlimit.Other, Name: "a"}, true},
		{connlimit.Peer{Class: connlimit.Other, Name: "a"}, false}, // a's cap
		{connlimit.Peer{Class: connlimit.Other, Name: "b"}, true},
		{connlimit.Peer{Class: connlimit.Other, Name: "c"}, false}, // the 2 shared slots are taken
		{connlimit.Peer{Class: connlimit.Host}, true},              // reserved
		{connlimit.Peer{Class: connlimit.Mgmt, Name: "m"}, true},   // reserved
		{connlimit.Peer{Class: connlimit.Host}, false},             // MaxConns
	}
	for i, st := range steps {
		mu.Lock()
		who = st.peer
		mu.Unlock()
		if !st.admit {
			assert.Equal(t, refused, raw(t, path, "GET /x HTTP/1.1\r\n\r\n", true), "step %d", i)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _ := get(t, path, "/block")
			assert.Equal(t, 200, status)
		}()
		<-b.entered // classified and served: the next connection may be someone else's
	}
}
