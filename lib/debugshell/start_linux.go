package debugshell

import (
	"cmp"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// AppletDir is where every mgmt container finds this binary and its
// applet links (lib/launch binds the run directory at /pantavisor): the
// shell gets it at the end of its PATH.
const AppletDir = "/pantavisor/bin"

// loginScript is what pventer runs through the container user's shell:
// a login shell of that shell with AppletDir on PATH.
const loginScript = `export PATH="$PATH:` + AppletDir + `"; exec "$SHELL" -l`

// stopGrace is how long Stop waits after the hang-up before it kills.
const stopGrace = 3 * time.Second

// Command starts the real shell: this binary as pventer (lib/enter)
// entering the container Container names, on a fresh open of Console
// that becomes the controlling tty of pventer's new session (setsid,
// TIOCSCTTY), so the shell gets job control and Ctrl-C. The shell is the
// container user's (root's) login shell with AppletDir on PATH (pv-ctl,
// pvtx, the applets). Empty fields mean the real system.
type Command struct {
	Console string // the tty; /dev/console when ""
	Exe     string // this binary; /proc/self/exe when ""
	Term    string // TERM of the shell; "vt100" when ""
	// CgroupParent is the containers' cgroup parent (pventer
	// --cgroup-parent); "" is the hierarchy root, an embedded device's.
	CgroupParent string
	Container    func() string // the container to enter; "" is ErrNoContainer
}

// Start starts the shell (Options.Start).
func (c Command) Start() (Process, error) {
	name := ""
	if c.Container != nil {
		name = c.Container()
	}
	if name == "" {
		return nil, ErrNoContainer
	}
	tty, err := openTTY(cmp.Or(c.Console, "/dev/console"))
	if err != nil {
		return nil, err
	}
	defer tty.Close() // the child has its copies
	cmd := &exec.Cmd{Path: cmp.Or(c.Exe, "/proc/self/exe"),
		Args:  []string{"pventer", "--cgroup-parent", cmp.Or(c.CgroupParent, "/"), "-c", name, loginScript},
		Env:   []string{"TERM=" + cmp.Or(c.Term, "vt100"), "PVUSER=root"},
		Stdin: tty, Stdout: tty, Stderr: tty,
		// Ctty is the child's fd: its stdin.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}}
	if err := cmd.Start(); err != nil {
		return nil, printf.Errorf("debug shell: starting pventer -c %s: %w", name, err)
	}
	return &process{cmd: cmd, done: make(chan struct{})}, nil
}

// openTTY opens path read-write as a blocking file: the shell reads it
// as its stdin (os.OpenFile would make a tty non-blocking for Go's
// poller, and O_NONBLOCK belongs to the open file the child inherits).
// O_NOCTTY: the main loop never takes it as its own controlling tty.
func openTTY(path string) (*os.File, error) {
	var fd int
	err := eintr.Retry(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, printf.Errorf("debug shell: open %s (O_RDWR|O_NOCTTY): %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// process is a started pventer.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Wait waits for pventer; a shell ended by a signal is no error (the
// exit code is the shell's business).
func (p *process) Wait() error {
	err := p.cmd.Wait()
	p.once.Do(func() { close(p.done) })
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return err
	}
	return nil
}

// Stop hangs up pventer, which passes SIGHUP to the shell, and kills it
// if it is still there after stopGrace.
func (p *process) Stop() {
	_ = p.cmd.Process.Signal(unix.SIGHUP) // it may have ended meanwhile
	go func() {
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			_ = p.cmd.Process.Kill()
		}
	}()
}

// OpenConsole opens the console (path; /dev/console when "") for reading
// Enter (Options.Console). Its reads go through Go's poller: O_NONBLOCK
// is set on this open file only, not on the shell's (openTTY).
func OpenConsole(path string) (*os.File, error) {
	path = cmp.Or(path, "/dev/console")
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, printf.Errorf("debug shell: %w", err)
	}
	return f, nil
}
