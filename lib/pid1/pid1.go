// Package pid1 is PID 1's policy: it starts the main loop, re-executes
// itself as the main loop's supervisor, reaps every child, and turns the
// main loop's end into a power action.
package pid1

import (
	"fmt"
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

// MainLoopArg runs the main loop: PID 1 forks it and only reaps, as upstream
// forks pv-main-loop. Containers are the main loop's children, so PID 1's
// wait4(-1) reaper never steals an exit status os/exec waits for.
const MainLoopArg = "--main-loop"

// Exit codes of the main loop, read by PID 1.
const (
	MainPowerOff = 0 // stop requested and done (pv_test=ready-poweroff)
	MainReboot   = 3 // the engine asks for a reboot
	MainRollback = 4 // the revision under test failed
)

// startMainLoop forks and execs the main loop with the console as stdio.
// It uses ForkExec, not os/exec: PID 1 reaps every child itself.
func startMainLoop(console *os.File) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	fd := console.Fd()
	return syscall.ForkExec(exe, []string{"pantavisor", MainLoopArg}, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{fd, fd, fd}})
}

// SuperviseArg re-executes PID 1 as the supervisor of a running main
// loop: "--supervise <pid>".
const SuperviseArg = "--supervise"

// SuperviseMainLoop is PID 1's life after boot: start the main loop, then
// re-execute itself as its supervisor (see supervise), falling back to
// supervising in place if the exec fails.
func SuperviseMainLoop(console *os.File, sigs <-chan os.Signal) {
	pid, err := startMainLoop(console)
	if err != nil {
		fmt.Fprintf(console, "pantavisor: starting the main loop: %v\n", err)
		time.Sleep(time.Second)
		Halt(console, power.Restart)
	}
	// The boot (early mounts, module loading) mapped pages of the binary
	// that PID 1 never runs again; a fresh image keeps only what reaping
	// needs, about 1.5 MB less RSS for the device's lifetime. The main
	// loop boots meanwhile. A SIGTERM sent to PID 1 during the exec is
	// lost (PID 1 ignores signals it has no handler for); a child that
	// exits then is reaped by the new image's first sweep.
	err = unix.Exec("/proc/self/exe", []string{os.Args[0], SuperviseArg, strconv.Itoa(pid)}, os.Environ())
	fmt.Fprintf(console, "pantavisor: re-executing as supervisor: %v (supervising in place)\n", err)
	supervise(console, pid, sigs)
}

// SuperviseMain is PID 1 after the re-exec: args are SuperviseArg's.
func SuperviseMain(args []string, console *os.File) {
	defer RestartOnPanic(console)
	sigs := Signals()
	pid := 0
	if len(args) > 0 {
		pid, _ = strconv.Atoi(args[0])
	}
	if pid <= 0 {
		fmt.Fprintf(console, "pantavisor: %s: bad main loop pid %q: rebooting\n", SuperviseArg, args)
		Halt(console, power.Restart)
	}
	if ws, done := reapUntil(pid); done { // exits during the exec
		Halt(console, MainExitAction(console, ws))
	}
	supervise(console, pid, sigs)
}

// supervise reaps every child; when the main loop (pid) ends, it powers
// off or reboots as its exit code says; a signal to PID 1 is passed on to
// the main loop, whose end then decides.
func supervise(console *os.File, pid int, sigs <-chan os.Signal) {
	for sig := range sigs {
		switch sig {
		case unix.SIGCHLD:
			if ws, done := reapUntil(pid); done {
				Halt(console, MainExitAction(console, ws))
			}
		case unix.SIGTERM, unix.SIGINT, unix.SIGUSR2:
			unix.Kill(pid, unix.SIGTERM)
		}
	}
}

// reapUntil reaps every exited child; done is true (with its status)
// when the main loop was among them.
func reapUntil(main int) (unix.WaitStatus, bool) {
	var mainWS unix.WaitStatus
	found := false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return mainWS, found
		}
		if pid == main {
			mainWS, found = ws, true
		}
	}
}

// MainExitAction turns the main loop's end into what PID 1 does.
func MainExitAction(console io.Writer, ws unix.WaitStatus) power.Action {
	switch {
	case ws.Signaled():
		fmt.Fprintf(console, "pantavisor: main loop killed by %v: rebooting\n", ws.Signal())
		return power.Restart
	case ws.ExitStatus() == MainPowerOff:
		return power.PowerOff
	case ws.ExitStatus() == MainRollback:
		fmt.Fprintln(console, "pantavisor: revision failed: rebooting to roll back")
		return power.Restart
	}
	fmt.Fprintf(console, "pantavisor: main loop exited with %d: rebooting\n", ws.ExitStatus())
	return power.Restart
}

// RestartOnPanic, deferred by PID 1's entry points, prints a panic and
// restarts the machine: PID 1 must never exit.
func RestartOnPanic(console io.Writer) {
	if r := recover(); r != nil {
		fmt.Fprintf(console, "pantavisor: PANIC: %v\n%s\n", r, debug.Stack())
		Halt(console, power.Restart)
	}
}

// Signals subscribes to the signals PID 1 handles.
func Signals() chan os.Signal {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGCHLD, unix.SIGHUP)
	return sigs
}

// Halt ends the machine and, should the kernel refuse, keeps PID 1 alive
// retrying: PID 1 exiting would panic the kernel.
func Halt(console io.Writer, a power.Action) {
	for {
		fmt.Fprintf(console, "pantavisor: %s\n", a)
		if err := power.Do(a); err != nil {
			fmt.Fprintf(console, "pantavisor: %v\n", err)
		}
		time.Sleep(5 * time.Second)
	}
}
