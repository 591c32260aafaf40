package pantavisor

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/pid1"
)

// TestCtrlUnderLoad: with 200 idle connections and a client sending one
// byte a second open on pv-ctrl, the appengine keeps answering and its
// main loop keeps working (a ready signal and a container stop go
// through); a 200 MB object upload grows the engine's peak RSS by a few
// MiB at most; a wrong hash leaves nothing behind.
func TestCtrlUnderLoad(t *testing.T) {
	d := startCtrlDevice(t)

	var idle []int
	defer func() {
		for _, fd := range idle {
			unix.Close(fd)
		}
	}()
	for range 200 {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		idle = append(idle, fd)
		require.NoError(t, unix.Connect(fd, &unix.SockaddrUnix{Name: d.sock}))
	}
	slow, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	idle = append(idle, slow)
	require.NoError(t, unix.Connect(slow, &unix.SockaddrUnix{Name: d.sock}))
	stopSlow := make(chan struct{})
	defer close(stopSlow)
	go func() {
		for _, b := range []byte("GET /containers HTTP/1.1\r\nHost: localhost\r\n") {
			select {
			case <-stopSlow:
				return
			case <-time.After(time.Second):
			}
			unix.Write(slow, []byte{b})
		}
	}()

	out, _, code := d.pvctl(t, "ls")
	require.Equal(t, 0, code, "served with 201 other connections open")
	assert.Contains(t, out, `"name":"app"`)
	_, stderr, code := d.inside(t, "mgmt", "pv-ctl signal ready")
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool {
		out, _, _ := d.pvctl(t, "ls")
		return strings.Contains(out, `"name":"app","group":"app","status":"STARTED"`)
	}, 30*time.Second, 100*time.Millisecond, "the main loop still runs: mgmt READY unblocks app")
	_, _, code = d.pvctl(t, "containers", "stop", "app")
	require.Equal(t, 0, code)
	require.Eventually(t, func() bool {
		out, _, _ := d.pvctl(t, "ls")
		return strings.Contains(out, `"name":"app","group":"app","status":"STOPPED"`)
	}, 15*time.Second, 100*time.Millisecond, "and stops a container on request")

	// A 200 MB object: streamed, so the engine's peak RSS barely moves.
	obj := filepath.Join(t.TempDir(), "obj")
	sum := writeRandomFile(t, obj, 200<<20)
	pid := strconv.Itoa(d.cmd.Process.Pid)
	before := vmHWM(t, pid)
	_, stderr, code = d.pvctl(t, "objects", "put", obj, sum)
	require.Equal(t, 0, code, stderr)
	after := vmHWM(t, pid)
	t.Logf("appengine peak RSS (VmHWM) before the 200 MB upload %d KiB, after %d KiB", before, after)
	assert.Less(t, after-before, int64(16<<10), "the upload is streamed: peak RSS grows by less than 16 MiB")
	got, err := os.ReadFile(filepath.Join(d.dir, "storage", "objects", sum))
	if assert.NoError(t, err) {
		h := sha256.Sum256(got)
		assert.Equal(t, sum, hex.EncodeToString(h[:]))
	}
	out, _, code = d.pvctl(t, "objects", "ls")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `{"sha256":"`+sum+`","size":"209715200"}`)

	// The same bytes under another name: 422, exit 60, nothing kept.
	wrong := strings.Repeat("ab", 32)
	_, stderr, code = d.pvctl(t, "objects", "put", obj, wrong)
	assert.Equal(t, 60, code)
	assert.Equal(t, `{"Error":"Object has bad checksum"}`+"\n", stderr)
	assert.NoFileExists(t, filepath.Join(d.dir, "storage", "objects", wrong))
	entries, err := os.ReadDir(filepath.Join(d.dir, "storage", "objects"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.Len(t, e.Name(), 64, "no temporary file left in objects/: %s", e.Name())
	}
}

// writeRandomFile writes size pseudo-random bytes to path and returns
// their sha256.
func writeRandomFile(t *testing.T, path string, size int) string {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	r := rand.NewChaCha8([32]byte{1})
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for n := 0; n < size; n += len(buf) {
		r.Read(buf)
		h.Write(buf)
		_, err := f.Write(buf)
		require.NoError(t, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// vmHWM is the peak resident set of a process, KiB (procField reads it).
func vmHWM(t *testing.T, pid string) int64 {
	t.Helper()
	v := pid1.ProcField("/proc/"+pid+"/status", "VmHWM:")
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	require.NoError(t, err, "VmHWM of %s: %q", pid, v)
	return n
}
