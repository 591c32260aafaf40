package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Namespaces a container gets unless its config keeps the host's.
const DefaultCloneflags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Cgroup is where the container's processes go (lib/cgroup implements it).
type Cgroup interface {
	Add(pid int) error
	Kill(ctx context.Context) error
}

// Options say how to start a container's stage. The zero value re-executes
// /proc/self/exe as "pv-container __stage".
type Options struct {
	Exe        string    // the binary holding the stage; /proc/self/exe by default
	Args       []string  // its argv; {"pv-container", StageArg} by default
	Cloneflags uintptr   // namespaces to create (CLONE_NEWCGROUP is done by the stage)
	Cgroup     Cgroup    // nil: stay in the parent's cgroup
	Console    io.Writer // receives everything the container writes on its console
	// UIDMappings and GIDMappings are the user namespace's maps when
	// Cloneflags has CLONE_NEWUSER (Plan.UIDMappings, Plan.GIDMappings).
	// The parent writes them (package syscall does it between clone and
	// exec, the child waiting on a pipe) before the stage runs, and the
	// stage starts as the namespace's root: both maps must map id 0.
	UIDMappings, GIDMappings []syscall.SysProcIDMap
	// Network creates the container's interfaces in its new network
	// namespace (Cloneflags must have CLONE_NEWNET); nil = none.
	Network Network
}

// errNetworkNeedsNetns: Options.Network would put links in the host's namespace.
var errNetworkNeedsNetns = errors.New("a network needs a new network namespace (CLONE_NEWNET)")

// Process is a started container.
type Process struct {
	Pid     int
	cmd     *exec.Cmd
	cgroup  Cgroup
	console *os.File // pty master
	copied  chan struct{}
	once    sync.Once
	code    int
}

// Start creates the container's namespaces and runs its init. Steps: open
// a pty for the console, fork+exec the stage with the clone flags, send it
// the Spec, put it in its cgroup, create its network interfaces
// (Options.Network), let it go, and wait until it has exec'd
// the init (or reports why it could not).
func Start(spec *Spec, opts Options) (*Process, error) {
	if opts.Network != nil && opts.Cloneflags&unix.CLONE_NEWNET == 0 {
		return nil, fmt.Errorf("starting %s: %w", spec.Name, errNetworkNeedsNetns)
	}
	master, slave, err := openPTY()
	if err != nil {
		return nil, err
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		master.Close()
		return nil, err
	}
	defer specR.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		master.Close()
		specW.Close()
		return nil, err
	}
	syncSock, childSync := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	defer syncSock.Close()
	defer childSync.Close()

	sent := *spec
	sent.Console = slave.Name() // the stage binds it at /dev/console
	cmd := opts.command(specR, childSync, slave)
	err = cmd.Start()
	// Our copies of the stage's ends would hide their EOF (sync) and keep
	// the console open after the container is gone (pty slave).
	childSync.Close()
	slave.Close()
	if err != nil {
		master.Close()
		specW.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	p := &Process{Pid: cmd.Process.Pid, cmd: cmd, cgroup: opts.Cgroup, console: master,
		copied: make(chan struct{})}
	go p.copyConsole(opts.Console)
	if err := p.handshake(&sent, specW, syncSock, opts); err != nil {
		p.kill()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	return p, nil
}

func (o Options) command(spec, sync, tty *os.File) *exec.Cmd {
	exe, args := o.Exe, o.Args
	if exe == "" {
		exe = "/proc/self/exe"
	}
	if len(args) == 0 {
		args = []string{"pv-container", StageArg}
	}
	// The stage's own environment (the init gets Spec.Env): a runtime
	// that never collects (the stage allocates little and execs within
	// milliseconds). GOMAXPROCS=1 measured slower (a locked thread and
	// one P hand off more).
	cmd := &exec.Cmd{Path: exe, Args: args, Env: []string{"GOGC=off"},
		Stdin: tty, Stdout: tty, Stderr: tty,
		ExtraFiles: []*os.File{spec, sync}, // fds 3 and 4: specFD, syncFD
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: o.Cloneflags &^ unix.CLONE_NEWCGROUP,
			// No Pdeathsig: it fires when the forking OS thread exits,
			// which Go may do at any time; stop kills the cgroup instead.
			Setsid: true, Setctty: true, Ctty: 0,
		}}
	if o.Cloneflags&unix.CLONE_NEWUSER != 0 {
		a := cmd.SysProcAttr
		a.UidMappings, a.GidMappings = o.UIDMappings, o.GIDMappings
		// Written by a privileged parent, the maps do not need setgroups
		// denied (LXC leaves it allowed too): the stage and the init may
		// set their groups within the map.
		a.GidMappingsEnableSetgroups = true
		// Root of the namespace, so the exec keeps the stage's capabilities
		// there (an unmapped uid would lose them).
		a.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	return cmd
}

// handshake sends the spec, joins the cgroup, attaches the network,
// releases the stage and reads its verdict: EOF (the sync fd closed on
// exec) means the init runs.
func (p *Process) handshake(spec *Spec, specW, sync *os.File, opts Options) error {
	_, err := specW.Write(spec.encode())
	specW.Close()
	if err != nil {
		return fmt.Errorf("sending spec: %w", err)
	}
	if p.cgroup != nil {
		if err := p.cgroup.Add(p.Pid); err != nil {
			return err
		}
	}
	if opts.Network != nil {
		if err := opts.Network.Attach(p.Pid); err != nil {
			return fmt.Errorf("attaching the network: %w", err)
		}
	}
	goByte := []byte{'g'}
	if opts.Cloneflags&unix.CLONE_NEWCGROUP != 0 {
		goByte[0] = 'C'
	}
	if _, err := sync.Write(goByte); err != nil {
		return fmt.Errorf("releasing stage: %w", err)
	}
	msg, err := io.ReadAll(sync)
	if err != nil {
		return fmt.Errorf("waiting for stage: %w", err)
	}
	if len(msg) > 0 {
		return errors.New(string(msg))
	}
	return nil
}

// copyConsole forwards the console until every writer is gone.
func (p *Process) copyConsole(w io.Writer) {
	defer close(p.copied)
	if w == nil {
		w = io.Discard
	}
	_, _ = io.Copy(w, p.console) // ends with EIO when the pty has no slave left
}

// Wait waits for the init to exit and returns its exit code (128+signal
// when killed), after the console output is flushed. It may be called
// several times.
func (p *Process) Wait() int {
	p.once.Do(func() {
		_ = p.cmd.Wait() // the exit status is read from ProcessState below
		<-p.copied
		p.console.Close()
		st := p.cmd.ProcessState
		p.code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
	})
	return p.code
}

// Signal sends sig to the container init.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// kill ends a half-started container.
func (p *Process) kill() {
	_ = p.cmd.Process.Kill() // the cgroup kill and Wait below finish the job
	if p.cgroup != nil {
		_ = p.cgroup.Kill(context.Background()) // best effort: the start already failed
	}
	p.Wait()
}

// Stop asks the init to stop with sig, waits up to timeout, then kills
// everything in the container's cgroup. It returns the init's exit code.
func (p *Process) Stop(sig os.Signal, timeout time.Duration) (int, error) {
	done := make(chan int, 1)
	go func() { done <- p.Wait() }()
	_ = p.Signal(sig) // an init already gone is what the wait below sees
	select {
	case code := <-done:
		return code, nil
	case <-time.After(timeout):
	}
	_ = p.cmd.Process.Kill() // the cgroup kill below reports what stays
	var err error
	if p.cgroup != nil {
		err = p.cgroup.Kill(context.Background())
	}
	return <-done, err
}

// openPTY opens a new pseudo-terminal pair (master, slave).
func openPTY() (*os.File, *os.File, error) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("console: unlocking pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("console: pty number: %w", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("console: %w", err)
	}
	return master, slave, nil
}
