package logs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/unixsock"
)

// callers names every new connection's sender after who, and counts the
// connections it named.
type callers struct {
	mu    sync.Mutex
	who   string
	named int
}

func (c *callers) identify(int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.named++
	return c.who
}

// as makes the next connections come from who ("" is pantavisor).
func (c *callers) as(who string) { c.mu.Lock(); c.who = who; c.mu.Unlock() }

func (c *callers) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.named }

// hold opens n idle connections to path as who, kept until the test ends,
// and waits until the server has named them all.
func (c *callers) hold(t *testing.T, path, who string, n int) []*os.File {
	t.Helper()
	c.as(who)
	want := c.count() + n
	var held []*os.File
	for range n {
		f, err := unixsock.Dial(path, 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		held = append(held, f)
	}
	require.Eventually(t, func() bool { return c.count() >= want }, 10*time.Second, 5*time.Millisecond,
		"the server accepted the connections of %s", who)
	return held
}

// closedByServer counts the connections the server has closed (the client
// reads the end of the stream).
func closedByServer(t *testing.T, fs []*os.File) int {
	t.Helper()
	pfds := make([]unix.PollFd, len(fs))
	for i, f := range fs {
		pfds[i] = unix.PollFd{Fd: int32(f.Fd()), Events: unix.POLLIN | unix.POLLRDHUP}
	}
	_, err := unix.Poll(pfds, 0)
	require.NoError(t, err)
	n := 0
	for _, p := range pfds {
		if p.Revents != 0 {
			n++
		}
	}
	return n
}

// TestContainerCannotLockOutLogs: a non-mgmt container opening 300 idle
// connections to pv-ctrl-log keeps only its share (64, the others are
// closed at once); then other containers fill the slots they may share.
// Pantavisor (host) and a mgmt container still connect, through
// pv-ctrl-log and /dev/log, and their messages are written before a
// deadline.
func TestContainerCannotLockOutLogs(t *testing.T) {
	cs := &callers{}
	s, _ := startServer(t, func(s *Server) {
		s.Identify = cs.identify
		s.Mgmt = func(name string) bool { return name == "mgmt" }
	})
	app := cs.hold(t, s.CtrlSocket(), "app", 300)
	require.Eventually(t, func() bool { return closedByServer(t, app) == 300-64 }, 10*time.Second, 5*time.Millisecond,
		"app keeps 64 connections")
	for i := range 5 { // 5 more containers fill the 320 shared slots app left
		cs.hold(t, s.FdSocket(), "c"+strconv.Itoa(i), 64)
	}
	late := cs.hold(t, s.CtrlSocket(), "late", 1)
	require.Eventually(t, func() bool { return closedByServer(t, late) == 1 }, 10*time.Second, 5*time.Millisecond,
		"no shared slot is left")
	assert.Equal(t, 300-64, closedByServer(t, app), "app's share stays open")

	logs := filepath.Join(s.StorageLogs, "1")
	for i, path := range []string{s.CtrlSocket(), s.DevLog} {
		src := "fair" + strconv.Itoa(i)
		cs.as("mgmt")
		send(t, path, AppendJSON(nil, Info, src, "mgmt still heard"))
		waitFile(t, filepath.Join(logs, "mgmt", src), "mgmt still heard\n") // 5 s deadline
		cs.as("")
		send(t, path, AppendJSON(nil, Info, src, "host still heard"))
		deadline := time.Now().Add(5 * time.Second)
		var got []byte
		for !strings.Contains(string(got), "["+src+"]: host still heard\n") {
			require.True(t, time.Now().Before(deadline), "pantavisor.log has %s's line: %q", src, got)
			time.Sleep(5 * time.Millisecond)
			got, _ = os.ReadFile(filepath.Join(logs, Pantavisor, "pantavisor.log"))
		}
	}
}
