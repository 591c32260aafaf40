package pid1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/power"
)

// exited and killed are the wait statuses of an exit and of a signal.
func exited(code int) unix.WaitStatus        { return unix.WaitStatus(code << 8) }
func killed(sig unix.Signal) unix.WaitStatus { return unix.WaitStatus(sig) }

// child is one reapable child of fakeSys.
type child struct {
	pid int
	ws  unix.WaitStatus
}

// fakeSys is the kernel seen by a Supervisor: children waiting to be
// reaped (batches, one per SIGCHLD), kills, reboots and sleeps.
type fakeSys struct {
	batches [][]child // batches[0] is what wait4 reaps now
	reaped  []int
	kills   []string
	reboots []power.Action
	sleeps  []time.Duration
	console bytes.Buffer
	// cancel is called by reboot number cancelAt, when set.
	cancel   context.CancelFunc
	cancelAt int
}

func (f *fakeSys) wait4(pid int, ws *unix.WaitStatus, options int, ru *unix.Rusage) (int, error) {
	if pid != -1 || options != unix.WNOHANG || ru != nil {
		return -1, unix.EINVAL
	}
	if len(f.batches) == 0 {
		return -1, unix.ECHILD
	}
	if len(f.batches[0]) == 0 {
		f.batches = f.batches[1:] // children still running: the next SIGCHLD brings the next batch
		return 0, nil
	}
	c := f.batches[0][0]
	f.batches[0] = f.batches[0][1:]
	f.reaped = append(f.reaped, c.pid)
	*ws = c.ws
	return c.pid, nil
}

func (f *fakeSys) supervisor() *Supervisor {
	return &Supervisor{
		Console: &f.console,
		Wait4:   f.wait4,
		Kill: func(pid int, sig unix.Signal) error {
			f.kills = append(f.kills, fmt.Sprintf("%s %d", unix.SignalName(sig), pid))
			return nil
		},
		Reboot: func(a power.Action) error {
			f.reboots = append(f.reboots, a)
			if f.cancel != nil && len(f.reboots) == f.cancelAt {
				f.cancel()
			}
			return errors.New("EPERM")
		},
		After: func(d time.Duration) <-chan time.Time {
			f.sleeps = append(f.sleeps, d)
			c := make(chan time.Time, 1)
			c <- time.Time{}
			return c
		},
		ForkExec: func(string, []string, *syscall.ProcAttr) (int, error) { return 0, errors.New("unexpected fork") },
		Exec:     func(string, []string, []string) error { return errors.New("unexpected exec") },
	}
}

// done is a context that is already done: Halt tries once and returns.
func done() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestExitAction: the main loop's wait status decides the power action.
func TestExitAction(t *testing.T) {
	for _, tc := range []struct {
		name string
		ws   unix.WaitStatus
		want power.Action
		say  string
	}{
		{"exit 0: stop requested", exited(MainPowerOff), power.PowerOff, ""},
		{"exit 3: reboot", exited(MainReboot), power.Restart, "pantavisor: main loop exited with 3: rebooting\n"},
		{"exit 4: roll back", exited(MainRollback), power.Restart, "pantavisor: revision failed: rebooting to roll back\n"},
		{"killed", killed(unix.SIGKILL), power.Restart, "pantavisor: main loop killed by killed: rebooting\n"},
		{"killed by SIGSEGV", killed(unix.SIGSEGV), power.Restart, "pantavisor: main loop killed by segmentation fault: rebooting\n"},
		{"exit 1: other", exited(1), power.Restart, "pantavisor: main loop exited with 1: rebooting\n"},
		{"exit 2: other", exited(2), power.Restart, "pantavisor: main loop exited with 2: rebooting\n"},
		{"exit 255: other", exited(255), power.Restart, "pantavisor: main loop exited with 255: rebooting\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			assert.Equal(t, tc.want, (&Supervisor{Console: &out}).ExitAction(tc.ws))
			assert.Equal(t, tc.say, out.String())
		})
	}
	// A nil console drops the message, the decision stands.
	assert.Equal(t, power.Restart, (&Supervisor{}).ExitAction(exited(MainRollback)))
}

// TestReap: one sweep reaps every exited child; the main loop's status is
// kept wherever it is in the batch.
func TestReap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		batch  []child
		done   bool
		status unix.WaitStatus
	}{
		{"nothing exited", nil, false, 0},
		{"orphans only", []child{{10, exited(0)}, {11, killed(unix.SIGTERM)}, {12, exited(1)}}, false, 0},
		{"main first", []child{{7, exited(MainRollback)}, {10, exited(0)}, {11, exited(1)}}, true, exited(MainRollback)},
		{"main in the middle", []child{{10, exited(0)}, {7, killed(unix.SIGKILL)}, {11, exited(1)}}, true, killed(unix.SIGKILL)},
		{"main last", []child{{10, exited(0)}, {11, exited(1)}, {7, exited(MainPowerOff)}}, true, exited(MainPowerOff)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSys{batches: [][]child{tc.batch}}
			ws, done := f.supervisor().Reap(7)
			assert.Equal(t, tc.done, done)
			assert.Equal(t, tc.status, ws)
			assert.Len(t, f.reaped, len(tc.batch), "every exited child is reaped")
		})
	}
	// Many children: all reaped in one sweep.
	var many []child
	for pid := 100; pid < 1100; pid++ {
		many = append(many, child{pid, exited(0)})
	}
	f := &fakeSys{batches: [][]child{many}}
	_, found := f.supervisor().Reap(7)
	assert.False(t, found)
	assert.Len(t, f.reaped, 1000)
}

// TestReapRealWait4: the default seam is wait4(2); a test binary without
// exited children reaps nothing.
func TestReapRealWait4(t *testing.T) {
	_, found := (&Supervisor{}).Reap(1 << 22)
	assert.False(t, found)
}

// TestSupervise: SIGCHLD reaps until the main loop is among the exited
// children; SIGTERM, SIGINT and SIGUSR2 are passed on as SIGTERM, the
// other signals PID 1 subscribes to are ignored.
func TestSupervise(t *testing.T) {
	f := &fakeSys{batches: [][]child{
		{{20, exited(0)}, {21, exited(1)}}, // first SIGCHLD: two orphans
		{},                                 // second: nothing exited yet
		{{22, exited(0)}, {7, exited(MainReboot)}, {23, exited(0)}},
	}}
	sigs := make(chan os.Signal, 16)
	for _, s := range []os.Signal{unix.SIGCHLD, unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1, unix.SIGINT,
		unix.SIGCHLD, unix.SIGUSR2, unix.SIGCHLD, unix.SIGTERM} {
		sigs <- s
	}
	ws, done := f.supervisor().Supervise(7, sigs)
	require.True(t, done)
	assert.Equal(t, exited(MainReboot), ws)
	assert.Equal(t, []int{20, 21, 22, 7, 23}, f.reaped)
	assert.Equal(t, []string{"SIGTERM 7", "SIGTERM 7", "SIGTERM 7"}, f.kills,
		"SIGTERM, SIGINT, SIGUSR2 forwarded as SIGTERM; SIGHUP and SIGUSR1 ignored; the last SIGTERM is never read")
	assert.Len(t, sigs, 1)

	// A closed channel ends supervision without a status.
	f = &fakeSys{}
	closed := make(chan os.Signal)
	close(closed)
	_, done = f.supervisor().Supervise(7, closed)
	assert.False(t, done)
}

// TestHalt: Halt asks for the action, says so, and retries every 5 s
// while the kernel refuses, until its context is done.
func TestHalt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeSys{cancel: cancel, cancelAt: 3}
	s := f.supervisor()
	s.Halt(ctx, power.PowerOff)
	assert.Equal(t, []power.Action{power.PowerOff, power.PowerOff, power.PowerOff}, f.reboots)
	assert.Equal(t, []time.Duration{5 * time.Second, 5 * time.Second}, f.sleeps, "no wait after the last try")
	assert.Equal(t, strings.Repeat("pantavisor: power off\npantavisor: EPERM\n", 3), f.console.String())

	// The default reboot is power.Do: refused outside PID 1's rights or
	// for an unknown action, before anything happens.
	var out bytes.Buffer
	(&Supervisor{Console: &out}).Halt(done(), power.Action(9))
	assert.Equal(t, "pantavisor: Action(9)\npantavisor: reboot(Action(9)): invalid argument\n", out.String())
}

// TestRestartOnPanic: a panic in PID 1 is printed and restarts the machine.
func TestRestartOnPanic(t *testing.T) {
	f := &fakeSys{}
	s := f.supervisor()
	func() {
		defer s.RestartOnPanic(done())
		panic("boom")
	}()
	assert.Equal(t, []power.Action{power.Restart}, f.reboots)
	assert.Contains(t, f.console.String(), "pantavisor: PANIC: boom\n")
	assert.Contains(t, f.console.String(), "pantavisor: restart\n")

	// No panic: nothing happens.
	f = &fakeSys{}
	func() { defer f.supervisor().RestartOnPanic(done()) }()
	assert.Empty(t, f.reboots)
	assert.Empty(t, f.console.String())
}

// TestResume: after the re-exec, the supervisor takes the main loop's pid
// from its arguments; a bad one restarts; an exit during the exec is
// reaped at once; otherwise it supervises, and the main loop's end halts.
func TestResume(t *testing.T) {
	for _, args := range [][]string{nil, {"x"}, {"0"}, {"-3"}} {
		f := &fakeSys{batches: [][]child{{{7, exited(0)}}}}
		f.supervisor().Resume(done(), args, nil)
		assert.Equal(t, []power.Action{power.Restart}, f.reboots, "%q", args)
		assert.Contains(t, f.console.String(), "--supervise: bad main loop pid", "%q", args)
		assert.Empty(t, f.reaped, "%q", args)
	}

	// The main loop powered off during the exec: no signal needed.
	f := &fakeSys{batches: [][]child{{{30, exited(0)}, {7, exited(MainPowerOff)}}}}
	f.supervisor().Resume(done(), []string{"7"}, nil)
	assert.Equal(t, []power.Action{power.PowerOff}, f.reboots)
	assert.Equal(t, []int{30, 7}, f.reaped)

	// Still running: supervised until SIGCHLD brings its rollback exit.
	f = &fakeSys{batches: [][]child{{}, {{7, exited(MainRollback)}}}}
	sigs := make(chan os.Signal, 2)
	sigs <- unix.SIGTERM
	sigs <- unix.SIGCHLD
	f.supervisor().Resume(done(), []string{"7"}, sigs)
	assert.Equal(t, []string{"SIGTERM 7"}, f.kills)
	assert.Equal(t, []power.Action{power.Restart}, f.reboots)
	assert.Contains(t, f.console.String(), "revision failed: rebooting to roll back")
}

// TestBoot: PID 1 starts the main loop, then re-executes itself as its
// supervisor; a failed exec supervises in place; a failed start waits a
// second and restarts.
func TestBoot(t *testing.T) {
	stdio, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer stdio.Close()
	var forked, execed []string
	var files []uintptr
	f := &fakeSys{batches: [][]child{{{7, killed(unix.SIGSEGV)}}}}
	base := f.supervisor()
	s := &Supervisor{Console: base.Console, Wait4: base.Wait4, Reboot: base.Reboot, After: base.After,
		ForkExec: func(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
			forked = argv
			files = attr.Files
			return 7, nil
		},
		Exec: func(path string, argv, env []string) error {
			execed = append([]string{path}, argv[1:]...)
			return unix.ENOEXEC
		}}
	sigs := make(chan os.Signal, 1)
	sigs <- unix.SIGCHLD
	s.Boot(done(), stdio, sigs)
	assert.Equal(t, []string{"pantavisor", MainLoopArg}, forked)
	assert.Equal(t, []uintptr{stdio.Fd(), stdio.Fd(), stdio.Fd()}, files, "the console is the main loop's stdio")
	assert.Equal(t, []string{"/proc/self/exe", SuperviseArg, "7"}, execed)
	assert.Contains(t, f.console.String(), "re-executing as supervisor: exec format error (supervising in place)")
	assert.Contains(t, f.console.String(), "main loop killed by segmentation fault: rebooting")
	assert.Equal(t, []power.Action{power.Restart}, f.reboots)

	// The fork fails: a second's pause, then a restart; nothing is executed.
	f = &fakeSys{}
	f.supervisor().Boot(done(), stdio, nil)
	assert.Equal(t, []time.Duration{time.Second}, f.sleeps)
	assert.Equal(t, []power.Action{power.Restart}, f.reboots)
	assert.Contains(t, f.console.String(), "starting the main loop: unexpected fork")
	assert.NotContains(t, f.console.String(), "re-executing")
}

// TestStartMainLoopReal: the default fork is ForkExec of this binary; the
// test binary started as "pantavisor --main-loop" fails its flag parsing
// and exits, and wait4 (the default seam) reaps it.
func TestStartMainLoopReal(t *testing.T) {
	stdio, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer stdio.Close()
	s := &Supervisor{}
	pid, err := s.StartMainLoop(stdio)
	require.NoError(t, err)
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, 0, nil)
	require.NoError(t, err)
	assert.Equal(t, pid, got)
	assert.True(t, ws.Exited())
	assert.NotEqual(t, 0, ws.ExitStatus(), "a test binary refuses --main-loop")
}

// TestSignals: PID 1 subscribes to what it handles (SIGCHLD among them).
func TestSignals(t *testing.T) {
	sigs := Signals()
	defer signal.Stop(sigs)
	require.NoError(t, unix.Kill(os.Getpid(), unix.SIGUSR2))
	select {
	case s := <-sigs:
		assert.Equal(t, unix.SIGUSR2, s)
	case <-time.After(5 * time.Second):
		t.Fatal("SIGUSR2 not delivered")
	}
}
