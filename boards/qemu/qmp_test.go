package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeQMP serves QEMU's side of QMP on a unix socket: the greeting, then
// one reply per command as QEMU gives it, with events in between.
type fakeQMP struct {
	path string
	mu   sync.Mutex
	cmds []string // every command received, in order
}

// qmpSocket returns a short socket path (sun_path holds 108 bytes).
func qmpSocket(t *testing.T) string {
	dir, err := os.MkdirTemp("", "qmp")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// startFakeQMP listens at path after delay (as QEMU creates its socket
// some time after its start) and serves connections until the test ends.
func startFakeQMP(t *testing.T, path string, delay time.Duration) *fakeQMP {
	f := &fakeQMP{path: path}
	ready := make(chan net.Listener, 1)
	go func() {
		time.Sleep(delay)
		l, err := net.Listen("unix", path)
		if err != nil {
			ready <- nil
			return
		}
		ready <- l
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	t.Cleanup(func() {
		if l := <-ready; l != nil {
			l.Close()
		}
	})
	return f
}

func (f *fakeQMP) serve(c net.Conn) {
	defer c.Close()
	send := func(s string) { fmt.Fprintf(c, "%s\r\n", s) }
	send(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}`)
	sc := bufio.NewScanner(c)
	negotiated := false
	for sc.Scan() {
		var req struct {
			Execute   string         `json:"execute"`
			Arguments map[string]any `json:"arguments"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			send(`{"error": {"class": "GenericError", "desc": "JSON parse error"}}`)
			continue
		}
		f.mu.Lock()
		f.cmds = append(f.cmds, req.Execute)
		f.mu.Unlock()
		switch {
		case req.Execute == "qmp_capabilities":
			negotiated = true
			send(`{"return": {}}`)
		case !negotiated:
			send(`{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with 'qmp_capabilities'"}}`)
		case req.Execute == "query-status":
			send(`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RTC_CHANGE", "data": {"offset": 0}}`)
			send(`{"return": {"status": "running", "singlestep": false, "running": true}}`)
		case req.Execute == "system_reset":
			send(`{"return": {}}`)
			send(`{"timestamp": {"seconds": 3, "microseconds": 4}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}`)
		case req.Execute == "quit":
			send(`{"return": {}}`)
			send(`{"timestamp": {"seconds": 5, "microseconds": 6}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}`)
			return
		default:
			send(`{"error": {"class": "CommandNotFound", "desc": "The command ` + req.Execute + ` has not been found"}}`)
		}
	}
}

func (f *fakeQMP) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

// TestQMPClient: the client waits for the socket, negotiates
// capabilities first, skips events while waiting for a reply (keeping
// them), decodes returns and errors, and takes quit's closed socket as
// success.
func TestQMPClient(t *testing.T) {
	path := qmpSocket(t)
	f := startFakeQMP(t, path, 100*time.Millisecond)
	q, err := DialQMP(context.Background(), path)
	require.NoError(t, err, "dial retries until the socket exists")
	defer q.Close()

	st, err := q.QueryStatus()
	require.NoError(t, err)
	assert.Equal(t, Status{Status: "running", Running: true}, st, "the event before the reply is skipped")
	require.NoError(t, q.SystemReset())

	err = q.Execute("no-such-command", map[string]any{"x": 1}, nil)
	var qe *QMPError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, "CommandNotFound", qe.Class)
	assert.EqualError(t, err, "qmp no-such-command: CommandNotFound: The command no-such-command has not been found")

	require.NoError(t, q.Quit())
	assert.Equal(t, []string{"qmp_capabilities", "query-status", "system_reset", "no-such-command", "quit"}, f.commands())
	var events []string
	for _, e := range q.Events() {
		events = append(events, e.Event)
	}
	// SHUTDOWN came after quit's reply: not read.
	assert.Equal(t, []string{"RTC_CHANGE", "RESET"}, events)
	assert.Equal(t, int64(3), q.Events()[1].Timestamp.Seconds)

	_, err = q.QueryStatus()
	assert.Error(t, err, "QEMU closed the socket after quit")
}

func TestDialQMPGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := DialQMP(ctx, filepath.Join(t.TempDir(), "none"))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestDialQMPNotQMP(t *testing.T) {
	path := qmpSocket(t)
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			fmt.Fprintf(c, "{\"hello\": 1}\n")
			c.Close()
		}
	}()
	_, err = DialQMP(context.Background(), path)
	assert.ErrorContains(t, err, "no greeting")
}

// TestVMQMP: VM.QMP dials the socket of Options.QMP once and hands the
// same client to every caller.
func TestVMQMP(t *testing.T) {
	path := qmpSocket(t)
	f := startFakeQMP(t, path, 0)
	v := fakeVM(t, Options{QMP: path})
	q, err := v.QMP()
	require.NoError(t, err)
	q2, err := v.QMP()
	require.NoError(t, err)
	assert.Same(t, q, q2)
	require.NoError(t, q.SystemReset())
	assert.Equal(t, []string{"qmp_capabilities", "system_reset"}, f.commands())
}
