package ctrl

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/config"
	"pantavisor/lib/http1"
	"pantavisor/lib/storage"
)

// storageServer serves a storage through the package router on a socket
// in a temporary directory; every request comes from the host (_pv_).
type storageServer struct {
	*Server
	socket string
	st     *storage.Storage
}

// newStorageServer serves a storage at root ("" for a new temporary one).
func newStorageServer(t *testing.T, root string) *storageServer {
	t.Helper()
	dir := t.TempDir()
	if root == "" {
		root = filepath.Join(dir, "storage")
	}
	st, err := storage.Open(root, storage.Options{})
	require.NoError(t, err)
	socket := filepath.Join(dir, "pv-ctrl")
	ss := &storageServer{Server: &Server{Socket: socket, Storage: st, Config: config.New(),
		Identify: func(int) (string, error) { return "", nil }}, socket: socket, st: st}
	require.NoError(t, ss.Start())
	t.Cleanup(func() { ss.Close() })
	return ss
}

// rawReq sends raw request bytes and reads the whole answer until close.
func rawReq(t *testing.T, socket, req string) string {
	t.Helper()
	c, err := net.Dial("unix", socket)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

// req10 is an HTTP/1.0 request as pvcurl sends it.
func req10(method, target, body string) string {
	return method + " " + target + " HTTP/1.0\r\nHost: localhost\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// call sends an HTTP/1.0 request and returns status and body.
func (ss *storageServer) call(t *testing.T, method, target, body string) (int, string) {
	t.Helper()
	resp := rawReq(t, ss.socket, req10(method, target, body))
	head, b, ok := strings.Cut(resp, "\r\n\r\n")
	require.True(t, ok, "no end of header in %q", resp)
	f := strings.Fields(head)
	require.GreaterOrEqual(t, len(f), 2, head)
	code, err := strconv.Atoi(f[1])
	require.NoError(t, err)
	return code, b
}

// do sends a request through the http1 client (HTTP/1.1; length -1 is a
// chunked body) and returns the status and the whole body.
func (ss *storageServer) do(t *testing.T, method, target string, body io.Reader, length int64) (int, string) {
	t.Helper()
	c := &http1.Client{Socket: ss.socket, Timeout: 60 * time.Second}
	resp, err := c.Do(method, target, nil, body, length)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.Status, string(b)
}

// goldenStorage compares got with testdata/storage/<name>.txt.
func goldenStorage(t *testing.T, name, got string) {
	t.Helper()
	goldenFile(t, filepath.Join("testdata", "storage", name+".txt"), got)
}

func hexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// leftovers lists what an upload may leave behind in objects/ and trails/
// (temporary and staging entries), and every object when objects is set.
func leftovers(t *testing.T, root string, objects bool) []string {
	t.Helper()
	var out []string
	for _, d := range []string{"objects", "trails", "trails/locals"} {
		entries, _ := os.ReadDir(filepath.Join(root, d))
		for _, e := range entries {
			n := e.Name()
			if strings.HasSuffix(n, ".tmp") || strings.HasPrefix(n, ".") || (objects && d == "objects") {
				out = append(out, d+"/"+n)
			}
		}
	}
	return out
}

func TestListObjects(t *testing.T) {
	ss := newStorageServer(t, "")
	goldenStorage(t, "objects_empty", rawReq(t, ss.socket, req10("GET", "/objects", "")))
	for _, c := range []string{"hello", "a bigger object\n"} {
		_, err := ss.st.InstallObject(hexSum([]byte(c)), int64(len(c)), strings.NewReader(c))
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(ss.st.Root, "objects", hexSum([]byte("x"))+".123.tmp"), []byte("x"), 0o644))
	goldenStorage(t, "objects", rawReq(t, ss.socket, req10("GET", "/objects", "")))
}

func TestGetObject(t *testing.T) {
	ss := newStorageServer(t, "")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000) // several 4096-byte pieces
	sha := hexSum(data)
	_, err := ss.st.InstallObject(sha, -1, bytes.NewReader(data))
	require.NoError(t, err)

	resp := rawReq(t, ss.socket, req10("GET", "/objects/"+sha, ""))
	head, body, _ := strings.Cut(resp, "\r\n\r\n")
	assert.Contains(t, head, "HTTP/1.0 200 ")
	assert.Contains(t, head, "\r\nContent-Type: application/octet-stream")
	assert.NotContains(t, head, "Content-Length")
	assert.Equal(t, string(data), body, "HTTP/1.0: streamed until close")

	c := &http1.Client{Socket: ss.socket, Timeout: 10 * time.Second}
	r, err := c.Do("GET", "/objects/"+sha, nil, nil, 0)
	require.NoError(t, err)
	assert.Equal(t, 200, r.Status)
	assert.Equal(t, "chunked", r.Header.Get("Transfer-Encoding"), "HTTP/1.1: chunked as libevent")
	got, err := io.ReadAll(r.Body)
	r.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, data, got)

	for _, target := range []string{"/objects/" + hexSum([]byte("missing")), "/objects/abc", "/objects/" + strings.ToUpper(sha), "/objects/..", "/objects/%2e%2e"} {
		code, body := ss.call(t, "GET", target, "")
		assert.Equal(t, 400, code, target)
		assert.Equal(t, errorBody("Request has bad object name"), body, target)
	}
}

func TestPutObject(t *testing.T) {
	content := "object content"
	sha := hexSum([]byte(content))
	for name, tc := range map[string]struct {
		target, body string
		code         int
		resp         string
		stored       bool
	}{
		"good":           {"/objects/" + sha, content, 200, "", true},
		"wrong hash":     {"/objects/" + hexSum([]byte("other")), content, 422, errorBody("Object has bad checksum"), false},
		"short name":     {"/objects/" + sha[:63], content, 400, errorBody("Request has bad object name"), false},
		"long name":      {"/objects/" + sha + "0", content, 400, errorBody("Request has bad object name"), false},
		"upper case":     {"/objects/" + strings.ToUpper(sha), content, 400, errorBody("Request has bad object name"), false},
		"dot dot":        {"/objects/..", content, 400, errorBody("Request has bad object name"), false},
		"escaped dots":   {"/objects/%2e%2e", content, 400, errorBody("Request has bad object name"), false},
		"traversal 64":   {"/objects/" + "../../" + sha[6:], content, 400, "", false},
		"query in name":  {"/objects/" + sha + "?x=1", content, 400, errorBody("Request has bad object name"), false},
		"empty body":     {"/objects/" + sha, "", 422, errorBody("Object has bad checksum"), false},
		"wrong method":   {"/objects", content, 400, errorBody("Method not supported for this endpoint"), false},
		"not a template": {"/objects/" + sha + "/x", content, 400, "", false},
	} {
		t.Run(name, func(t *testing.T) {
			ss := newStorageServer(t, "")
			code, body := ss.call(t, "PUT", tc.target, tc.body)
			assert.Equal(t, tc.code, code)
			if tc.resp != "" || code == 200 {
				assert.Equal(t, tc.resp, body)
			}
			assert.Equal(t, tc.stored, ss.st.HasObject(sha))
			if !tc.stored {
				assert.Empty(t, leftovers(t, ss.st.Root, true), "nothing left behind")
			} else {
				assert.Empty(t, leftovers(t, ss.st.Root, false))
			}
		})
	}
}

func TestPutObjectExisting(t *testing.T) {
	ss := newStorageServer(t, "")
	content := strings.Repeat("x", 1<<20)
	sha := hexSum([]byte(content))
	code, _ := ss.call(t, "PUT", "/objects/"+sha, content)
	require.Equal(t, 200, code)
	fi1, err := os.Stat(ss.st.ObjectPath(sha))
	require.NoError(t, err)

	// Again over 1.0 (the body is drained, then 200) and over 1.1 chunked.
	code, body := ss.call(t, "PUT", "/objects/"+sha, content)
	assert.Equal(t, 200, code)
	assert.Empty(t, body)
	code, _ = ss.do(t, "PUT", "/objects/"+sha, strings.NewReader(content), -1)
	assert.Equal(t, 200, code)
	fi2, err := os.Stat(ss.st.ObjectPath(sha))
	require.NoError(t, err)
	assert.True(t, os.SameFile(fi1, fi2), "not written again")
}

func TestPutObjectChunked(t *testing.T) {
	ss := newStorageServer(t, "")
	data := bytes.Repeat([]byte("chunk"), 300_000)
	code, body := ss.do(t, "PUT", "/objects/"+hexSum(data), bytes.NewReader(data), -1)
	assert.Equal(t, 200, code, body)
	assert.True(t, ss.st.HasObject(hexSum(data)))

	code, body = ss.do(t, "PUT", "/objects/"+hexSum([]byte("nope")), bytes.NewReader(data), -1)
	assert.Equal(t, 422, code)
	assert.Equal(t, errorBody("Object has bad checksum"), body)
	assert.Empty(t, leftovers(t, ss.st.Root, false))
}

// TestPutObjectConcurrent uploads one object twice at the same time: both
// answers are 200 and one valid object remains.
func TestPutObjectConcurrent(t *testing.T) {
	ss := newStorageServer(t, "")
	data := bytes.Repeat([]byte("same object "), 2_000_000)
	sha := hexSum(data)
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Go(func() {
			length := int64(len(data))
			if i%2 == 1 {
				length = -1
			}
			codes[i], _ = ss.do(t, "PUT", "/objects/"+sha, bytes.NewReader(data), length)
		})
	}
	wg.Wait()
	assert.Equal(t, []int{200, 200, 200, 200}, codes)
	got, err := storage.HashFile(ss.st.ObjectPath(sha))
	require.NoError(t, err)
	assert.Equal(t, sha, got)
	assert.Empty(t, leftovers(t, ss.st.Root, false))
}

// patternReader yields size bytes of a fixed pseudo-random pattern without
// holding them.
type patternReader struct {
	n, size int64
	x       uint64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n >= p.size {
		return 0, io.EOF
	}
	if int64(len(b)) > p.size-p.n {
		b = b[:p.size-p.n]
	}
	for i := range b {
		if (p.n+int64(i))%8 == 0 {
			p.x = p.x*6364136223846793005 + 1442695040888963407
		}
		b[i] = byte(p.x >> (8 * ((p.n + int64(i)) % 8)))
	}
	p.n += int64(len(b))
	return len(b), nil
}

// TestPutObjectLargeConstantMemory uploads 200 MB and samples the heap all
// along: it stays far below the object's size.
func TestPutObjectLargeConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB upload")
	}
	const size = 200 << 20
	h := sha256.New()
	_, err := io.Copy(h, &patternReader{size: size})
	require.NoError(t, err)
	sha := hex.EncodeToString(h.Sum(nil))
	ss := newStorageServer(t, "")

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	code, body := ss.do(t, "PUT", "/objects/"+sha, &patternReader{size: size}, size)
	elapsed := time.Since(start)
	close(stop)
	<-done
	require.Equal(t, 200, code, body)
	fi, err := os.Stat(ss.st.ObjectPath(sha))
	require.NoError(t, err)
	assert.EqualValues(t, size, fi.Size())
	growth := int64(peak) - int64(base)
	t.Logf("200 MiB upload in %v: heap %.1f MiB before, peak %.1f MiB (+%.1f MiB)",
		elapsed.Round(time.Millisecond), float64(base)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20))
	assert.Less(t, growth, int64(16<<20), "heap growth during a 200 MiB upload")
}

// mountTmpfs mounts a tmpfs of size (e.g. "4m") in a temporary directory.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("SKIP (needs root and CAP_SYS_ADMIN): mounting a %s tmpfs: %v", size, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// TestPutObjectDiskFull uploads objects bigger than a 4 MiB tmpfs: with a
// known length the free-space check refuses it, chunked the write fails
// with ENOSPC; both are 507 and leave nothing.
func TestPutObjectDiskFull(t *testing.T) {
	root := mountTmpfs(t, "4m")
	ss := newStorageServer(t, root)
	data := bytes.Repeat([]byte("full"), 2<<20) // 8 MiB
	sha := hexSum(data)
	for _, length := range []int64{int64(len(data)), -1} {
		code, body := ss.do(t, "PUT", "/objects/"+sha, bytes.NewReader(data), length)
		assert.Equal(t, 507, code, "length %d", length)
		assert.Equal(t, errorBody("Not enough disk space available"), body)
		assert.Empty(t, leftovers(t, root, true), "length %d", length)
	}
	// Just above the reserve, below the disk: the write itself hits ENOSPC.
	filler := filepath.Join(root, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 3<<20), 0o644))
	small := bytes.Repeat([]byte("s"), 2<<20)
	code, _ := ss.do(t, "PUT", "/objects/"+hexSum(small), bytes.NewReader(small), -1)
	assert.Equal(t, 507, code)
	assert.Empty(t, leftovers(t, root, true))

	// Room again: the same upload succeeds.
	require.NoError(t, os.Remove(filler))
	code, _ = ss.do(t, "PUT", "/objects/"+hexSum(small), bytes.NewReader(small), int64(len(small)))
	assert.Equal(t, 200, code)
}

var _ = errors.New
