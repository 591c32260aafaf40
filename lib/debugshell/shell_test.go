package debugshell

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuf is the console's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// fakeProc is a shell that ends when the test says (end) or on Stop.
type fakeProc struct {
	end     chan error
	stopped chan struct{}
}

func (p *fakeProc) Wait() error { return <-p.end }
func (p *fakeProc) Stop()       { close(p.stopped); p.end <- nil }

// rig is a Shell with a pipe for the console, fake shells and a clock
// the test fires.
type rig struct {
	t      *testing.T
	sh     *Shell
	keys   *io.PipeWriter
	out    *syncBuf
	starts chan *fakeProc
	fail   error // the next Start's error
	timers chan chan time.Time
	cancel context.CancelFunc
	ran    chan struct{}
}

func newRig(t *testing.T, autologin bool) *rig {
	r := &rig{t: t, out: &syncBuf{}, starts: make(chan *fakeProc, 4), timers: make(chan chan time.Time, 4),
		ran: make(chan struct{})}
	pr, pw := io.Pipe()
	r.keys = pw
	view := &View{W: r.out}
	r.sh = New(Options{Console: pr, View: view, Timeout: 30 * time.Second, Autologin: autologin,
		Start: func() (Process, error) {
			if err := r.fail; err != nil {
				r.fail = nil
				return nil, err
			}
			p := &fakeProc{end: make(chan error, 1), stopped: make(chan struct{})}
			r.starts <- p
			return p, nil
		},
		After: func(d time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			r.timers <- c
			return c
		}})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.sh.Run(ctx); close(r.ran) }()
	t.Cleanup(func() { cancel(); pw.Close(); <-r.ran })
	return r
}

// press types s on the console.
func (r *rig) press(s string) {
	_, err := r.keys.Write([]byte(s))
	require.NoError(r.t, err)
}

// started waits for a shell to start.
func (r *rig) started() *fakeProc {
	select {
	case p := <-r.starts:
		return p
	case <-time.After(5 * time.Second):
		r.t.Fatalf("no shell started; console:\n%s", r.out.String())
		return nil
	}
}

// noStart asserts no shell starts for a while.
func (r *rig) noStart() {
	select {
	case <-r.starts:
		r.t.Fatalf("a shell started; console:\n%s", r.out.String())
	case <-time.After(50 * time.Millisecond):
	}
}

// waitOut waits until the console shows s.
func (r *rig) waitOut(s string) {
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(r.out.String(), s) {
		if time.Now().After(deadline) {
			r.t.Fatalf("console never showed %q:\n%s", s, r.out.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestEnterOpensShellAndPausesLog: Enter opens a shell, the log written
// meanwhile is held and shown once it ends, and Enter opens another.
func TestEnterOpensShellAndPausesLog(t *testing.T) {
	r := newRig(t, false)
	r.waitOut("press Enter")
	r.press("typed words without a line end")
	r.noStart()
	r.press("\r")
	p := r.started()
	r.waitOut("debug shell: opening")
	view := r.sh.o.View
	_, _ = view.Write([]byte("log line while open\n"))
	assert.NotContains(t, r.out.String(), "log line while open", "the log view is paused")
	// Input while the shell is open is the shell's: the watcher reads
	// nothing until it closes (the pipe write blocks until then).
	typed := make(chan struct{})
	go func() { r.press("ls\n"); close(typed) }()
	r.noStart()
	select {
	case <-typed:
		t.Fatal("the console was read while the shell was open")
	default:
	}
	p.end <- nil
	r.waitOut("debug shell closed")
	assert.Contains(t, r.out.String(), "log line while open", "the held log is shown after the shell")
	// Read now: the line opens the next shell.
	<-typed
	r.started().end <- nil
	_, _ = view.Write([]byte("log line after\n"))
	r.waitOut("log line after")
}

// TestStartFailureRearms: a shell that cannot start is reported and the
// next Enter tries again.
func TestStartFailureRearms(t *testing.T) {
	r := newRig(t, false)
	r.fail = ErrNoContainer
	r.press("\n")
	r.waitOut("debug shell: " + ErrNoContainer.Error())
	r.press("\n")
	r.started().end <- errors.New("exit status 1")
	r.waitOut("debug shell closed: exit status 1")
}

// TestHoldWithoutShellReturns: with no shell open Hold returns at once,
// and no shell opens afterwards.
func TestHoldWithoutShellReturns(t *testing.T) {
	r := newRig(t, false)
	done := make(chan struct{})
	go func() { r.sh.Hold(context.Background(), "reboot"); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Hold waited without a shell")
	}
	r.press("\n")
	r.waitOut("going down: no new shell")
	r.noStart()
}

// TestHoldWaitsForShell: a Hold waits while the shell is open, says so,
// and returns when it closes.
func TestHoldWaitsForShell(t *testing.T) {
	r := newRig(t, true)
	p := r.started()
	done := make(chan struct{})
	go func() { r.sh.Hold(context.Background(), "update to revision 1"); close(done) }()
	r.waitOut("update to revision 1: waiting for the debug shell to close")
	<-r.timers
	select {
	case <-done:
		t.Fatal("Hold returned while the shell is open")
	case <-time.After(50 * time.Millisecond):
	}
	p.end <- nil
	<-done
	r.waitOut("debug shell closed")
}

// TestHoldTimeoutStopsShell: past the timeout the shell is stopped and
// the Hold released; Defer moves the timeout first.
func TestHoldTimeoutStopsShell(t *testing.T) {
	r := newRig(t, true)
	p := r.started()
	done := make(chan struct{})
	go func() { r.sh.Hold(context.Background(), "reboot"); close(done) }()
	first := <-r.timers
	r.sh.Defer(context.Background(), 90*time.Second)
	r.waitOut("reboot deferred: the shell is closed in 1m30s")
	second := <-r.timers
	first <- time.Now() // the old timer is no longer watched
	select {
	case <-p.stopped:
		t.Fatal("stopped by the deferred timer")
	case <-time.After(50 * time.Millisecond):
	}
	second <- time.Now()
	<-p.stopped
	<-done
	r.waitOut("debug shell: timeout: closing it")
}

// TestDeferWithoutHold only says so.
func TestDeferWithoutHold(t *testing.T) {
	r := newRig(t, false)
	r.sh.Defer(context.Background(), time.Minute)
	r.waitOut("no reboot is waiting for the shell")
}

// TestCancelStopsShell: the end of Run stops an open shell and resumes
// the view.
func TestCancelStopsShell(t *testing.T) {
	r := newRig(t, true)
	p := r.started()
	_, _ = r.sh.o.View.Write([]byte("held\n"))
	r.cancel()
	<-p.stopped
	<-r.ran
	assert.Contains(t, r.out.String(), "held")
	r.sh.Hold(context.Background(), "after the end") // returns: Run is over
}
