package pid1

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/power"
)

// Supervisor is PID 1 after the boot: it starts the main loop, reaps every
// child and ends the machine as the main loop's exit says. Each func field
// is a seam; nil means the real system, so the zero value (with a Console)
// is PID 1's. Set fields in the struct literal only.
type Supervisor struct {
	// Console receives every message; nil drops them.
	Console io.Writer
	// Wait4 is unix.Wait4 when nil.
	Wait4 func(pid int, ws *unix.WaitStatus, options int, ru *unix.Rusage) (int, error)
	// Kill is unix.Kill when nil.
	Kill func(pid int, sig unix.Signal) error
	// Reboot is power.Do when nil: it returns only on failure.
	Reboot func(power.Action) error
	// After is the clock, time.After when nil.
	After func(time.Duration) <-chan time.Time
	// ForkExec is syscall.ForkExec when nil.
	ForkExec func(path string, argv []string, attr *syscall.ProcAttr) (int, error)
	// Exec is unix.Exec when nil: it returns only on failure.
	Exec func(path string, argv, env []string) error
}

func (s *Supervisor) wait4(pid int, ws *unix.WaitStatus, options int) (int, error) {
	if s.Wait4 != nil {
		return s.Wait4(pid, ws, options, nil)
	}
	return unix.Wait4(pid, ws, options, nil)
}

func (s *Supervisor) kill(pid int, sig unix.Signal) error {
	if s.Kill != nil {
		return s.Kill(pid, sig)
	}
	return unix.Kill(pid, sig)
}

func (s *Supervisor) reboot(a power.Action) error {
	if s.Reboot != nil {
		return s.Reboot(a)
	}
	return power.Do(a)
}

func (s *Supervisor) after(d time.Duration) <-chan time.Time {
	if s.After != nil {
		return s.After(d)
	}
	return time.After(d)
}

func (s *Supervisor) forkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	if s.ForkExec != nil {
		return s.ForkExec(path, argv, attr)
	}
	return syscall.ForkExec(path, argv, attr)
}

func (s *Supervisor) exec(path string, argv, env []string) error {
	if s.Exec != nil {
		return s.Exec(path, argv, env)
	}
	return unix.Exec(path, argv, env)
}

// Signals subscribes to the signals PID 1 handles. Call it before any
// other boot work, so none arrives before it is handled.
func Signals() chan os.Signal {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGCHLD, unix.SIGHUP)
	return sigs
}

// StartMainLoop forks and execs the main loop (this binary, MainLoopArg)
// with stdio as its stdin, stdout and stderr, and returns its pid. It uses
// ForkExec, not os/exec: PID 1 reaps every child itself.
func (s *Supervisor) StartMainLoop(stdio *os.File) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	fd := stdio.Fd()
	return s.forkExec(exe, []string{"pantavisor", MainLoopArg}, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{fd, fd, fd}})
}

// Boot is PID 1's life after the boot work. Steps: start the main loop
// (on failure wait a second and restart the machine), re-execute this
// binary as its supervisor (SuperviseArg, see Resume), and, if that exec
// fails, supervise in place until the main loop ends, then Halt as its
// exit says. It returns only once ctx is done (see Halt) or sigs closes.
func (s *Supervisor) Boot(ctx context.Context, stdio *os.File, sigs <-chan os.Signal) {
	pid, err := s.StartMainLoop(stdio)
	if err != nil {
		say(s.Console, "starting the main loop: %v", err)
		<-s.after(time.Second)
		s.Halt(ctx, power.Restart)
		return
	}
	// The boot (early mounts, module loading) mapped pages of the binary
	// that PID 1 never runs again; a fresh image keeps only what reaping
	// needs, about 1.5 MB less RSS for the device's lifetime. The main
	// loop boots meanwhile. A SIGTERM sent to PID 1 during the exec is
	// lost (PID 1 ignores signals it has no handler for); a child that
	// exits then is reaped by the new image's first sweep.
	err = s.exec("/proc/self/exe", []string{os.Args[0], SuperviseArg, strconv.Itoa(pid)}, os.Environ())
	say(s.Console, "re-executing as supervisor: %v (supervising in place)", err)
	if ws, done := s.Supervise(pid, sigs); done {
		s.Halt(ctx, s.ExitAction(ws))
	}
}

// Resume is PID 1 after the re-exec; args are SuperviseArg's (the main
// loop's pid). Steps: a bad pid restarts the machine; a main loop that
// ended during the exec is reaped at once; otherwise supervise it. It
// ends in Halt, and returns only once ctx is done or sigs closes.
func (s *Supervisor) Resume(ctx context.Context, args []string, sigs <-chan os.Signal) {
	pid := 0
	if len(args) > 0 {
		pid, _ = strconv.Atoi(args[0])
	}
	if pid <= 0 {
		say(s.Console, "%s: bad main loop pid %q: rebooting", SuperviseArg, args)
		s.Halt(ctx, power.Restart)
		return
	}
	ws, done := s.Reap(pid) // exits during the exec
	if !done {
		ws, done = s.Supervise(pid, sigs)
	}
	if done {
		s.Halt(ctx, s.ExitAction(ws))
	}
}

// Supervise reaps every child on SIGCHLD until the main loop (pid) is
// among them and returns its status (done is false only if sigs
// closes). SIGTERM, SIGINT and SIGUSR2 are passed on to the main loop as
// SIGTERM: its end then decides. A failed kill is not reported: the main
// loop is already ending, and its SIGCHLD follows.
func (s *Supervisor) Supervise(pid int, sigs <-chan os.Signal) (ws unix.WaitStatus, done bool) {
	for sig := range sigs {
		switch sig {
		case unix.SIGCHLD:
			if ws, done := s.Reap(pid); done {
				return ws, true
			}
		case unix.SIGTERM, unix.SIGINT, unix.SIGUSR2:
			_ = s.kill(pid, unix.SIGTERM) // ESRCH only: it exited, and SIGCHLD follows
		}
	}
	return 0, false
}

// Reap reaps every exited child without blocking; done is true (with its
// status) when the main loop was among them.
func (s *Supervisor) Reap(main int) (unix.WaitStatus, bool) {
	var mainWS unix.WaitStatus
	found := false
	for {
		var ws unix.WaitStatus
		pid, err := s.wait4(-1, &ws, unix.WNOHANG)
		if pid <= 0 || err != nil {
			return mainWS, found
		}
		if pid == main {
			mainWS, found = ws, true
		}
	}
}

// ExitAction turns the main loop's end into what PID 1 does: MainPowerOff
// powers off; anything else, or a signal, restarts (the bootloader then
// rolls back after MainRollback). It says why on the console.
func (s *Supervisor) ExitAction(ws unix.WaitStatus) power.Action {
	switch {
	case ws.Signaled():
		say(s.Console, "main loop killed by %v: rebooting", ws.Signal())
		return power.Restart
	case ws.ExitStatus() == MainPowerOff:
		return power.PowerOff
	case ws.ExitStatus() == MainRollback:
		say(s.Console, "revision failed: rebooting to roll back")
		return power.Restart
	}
	say(s.Console, "main loop exited with %d: rebooting", ws.ExitStatus())
	return power.Restart
}

// Halt ends the machine and, should the kernel refuse, retries every 5
// seconds: PID 1 exiting would panic the kernel. It returns only once ctx
// is done; PID 1 passes context.Background, so it never does.
func (s *Supervisor) Halt(ctx context.Context, a power.Action) {
	for {
		say(s.Console, "%s", a)
		if err := s.reboot(a); err != nil {
			say(s.Console, "%v", err)
		}
		if ctx.Err() != nil {
			return
		}
		<-s.after(5 * time.Second)
	}
}

// RestartOnPanic, deferred by PID 1's entry points, prints a panic and
// restarts the machine (Halt with ctx): PID 1 must never exit.
func (s *Supervisor) RestartOnPanic(ctx context.Context) {
	if r := recover(); r != nil {
		say(s.Console, "PANIC: %s\n%s", panicText(r), debug.Stack())
		s.Halt(ctx, power.Restart)
	}
}

// panicText is the text of a panic's value: an error's (runtime errors
// are errors) or a string; the printer has no reflection for other types.
func panicText(r any) string {
	switch r := r.(type) {
	case error:
		return r.Error()
	case string:
		return r
	case interface{ String() string }:
		return r.String()
	}
	return "(a value without a text)"
}
