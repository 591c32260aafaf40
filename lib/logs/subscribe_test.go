package logs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subs returns the number of live subscriptions.
func (s *Server) numSubs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

func waitSubs(t *testing.T, s *Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return s.numSubs() == n }, 5*time.Second, 5*time.Millisecond)
}

func TestSubscribeFDOverSocket(t *testing.T) {
	s, el := startServer(t, nil)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, SubscribeFD(s.FdSocket(), r, "web", "lxc/console.log", Info))
	require.NoError(t, r.Close()) // the server has its own copy
	waitSubs(t, s, 1)
	path := filepath.Join(s.StorageLogs, "1/web/lxc/console.log")
	_, err = w.WriteString("line1\nline2\npart")
	require.NoError(t, err)
	waitFile(t, path, "line1\nline2\n")
	_, err = w.WriteString("ial\n")
	require.NoError(t, err)
	waitFile(t, path, "line1\nline2\npartial\n")
	_, err = w.WriteString("no end")
	require.NoError(t, err)
	require.NoError(t, w.Close()) // end of stream: the rest is logged and the subscription ends
	waitFile(t, path, "line1\nline2\npartial\nno end\n")
	waitSubs(t, s, 0)
	assert.Empty(t, el.list())
}

func TestUnsubscribeFDOverSocket(t *testing.T) {
	s, _ := startServer(t, nil)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, SubscribeFD(s.FdSocket(), r, "web", "out", Debug))
	r.Close()
	waitSubs(t, s, 1)
	_, err = w.WriteString("before\n")
	require.NoError(t, err)
	waitFile(t, filepath.Join(s.StorageLogs, "1/web/out"), "before\n")
	require.NoError(t, UnsubscribeFD(s.FdSocket(), "web", "out"))
	waitSubs(t, s, 0)
	// The server's copy of the read end is closed: the pipe is broken.
	_, err = w.WriteString("after\n")
	assert.True(t, errors.Is(err, syscall.EPIPE), "write after unsubscribe: %v", err)
}

// pvLines waits for n lines in a pantavisor.log and returns them without
// their tsec.
func pvLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var lines []string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		return len(b) > 0 && len(lines) >= n
	}, 5*time.Second, 5*time.Millisecond)
	for i, l := range lines {
		plat, rest, _ := strings.Cut(l, " ")
		_, rest, _ = strings.Cut(rest, " ")
		lines[i] = plat + " " + rest
	}
	return lines
}

func TestSubscribeInProcess(t *testing.T) {
	s, el := startServer(t, nil)
	r1, w1, err := os.Pipe()
	require.NoError(t, err)
	defer w1.Close()
	require.NoError(t, s.Subscribe(r1, Pantavisor, "hook", Warn))
	_, err = w1.WriteString("hook said\nsomething\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"[pantavisor] WARN\t -- [hook]: hook said", "[pantavisor] WARN\t -- [hook]: something"},
		pvLines(t, filepath.Join(s.StorageLogs, "1/pantavisor/pantavisor.log"), 2))

	// A second subscription of the same pair replaces the first.
	r2, w2, err := os.Pipe()
	require.NoError(t, err)
	defer w2.Close()
	require.NoError(t, s.Subscribe(r2, Pantavisor, "hook", Warn))
	waitSubs(t, s, 1)
	require.Eventually(t, func() bool {
		_, err := w1.WriteString("x\n")
		return errors.Is(err, syscall.EPIPE)
	}, 5*time.Second, 5*time.Millisecond, "the first pipe's reader was closed")

	r3, w3, err := os.Pipe()
	require.NoError(t, err)
	defer w3.Close()
	assert.ErrorIs(t, s.Subscribe(r3, "app", "../x", Info), ErrBadName)
	r4, w4, err := os.Pipe()
	require.NoError(t, err)
	defer w4.Close()
	assert.ErrorIs(t, s.Subscribe(r4, "app", "x", Level(9)), ErrBadLevel)
	assert.True(t, s.Unsubscribe(Pantavisor, "hook"))
	assert.False(t, s.Unsubscribe(Pantavisor, "hook"))
	waitSubs(t, s, 0)
	assert.Empty(t, el.list())
}

func TestSubscribeLongLine(t *testing.T) {
	s, _ := startServer(t, nil)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	require.NoError(t, s.Subscribe(r, "app", "long", Info))
	long := strings.Repeat("y", 3*maxLine)
	go func() { w.WriteString(long); w.Close() }()
	b := []byte{}
	require.Eventually(t, func() bool {
		b, _ = os.ReadFile(filepath.Join(s.StorageLogs, "1/app/long"))
		return len(strings.ReplaceAll(string(b), "\n", "")) == len(long)
	}, 5*time.Second, 5*time.Millisecond)
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		assert.LessOrEqual(t, len(l), 2*maxLine, "a line without end is cut")
	}
}

func TestCapture(t *testing.T) {
	kmsg := filepath.Join(t.TempDir(), "kmsg")
	require.NoError(t, os.WriteFile(kmsg, []byte("6,1,0,-;Linux version 6.1.0\n SUBSYSTEM=cpu\n"+
		"3,2,1500000,-;EXT4-fs error\n7,3,2000001,-;debug noise\n"), 0o644))
	s, _ := startServer(t, func(s *Server) { s.Kmsg = kmsg; s.Level = Info })
	require.NoError(t, s.Capture())
	assert.Equal(t, []string{
		"[pantavisor] INFO\t -- [dmesg]: [    0.000000] Linux version 6.1.0",
		"[pantavisor] ERROR\t -- [dmesg]: [    1.500000] EXT4-fs error",
	}, pvLines(t, filepath.Join(s.StorageLogs, "1/pantavisor/pantavisor.log"), 2))
	waitSubs(t, s, 0) // a regular file ends

	s2, _ := startServer(t, func(s *Server) { s.Kmsg = filepath.Join(t.TempDir(), "none") })
	assert.ErrorIs(t, s2.Capture(), os.ErrNotExist)
}
