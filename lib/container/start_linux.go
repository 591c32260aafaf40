package container

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
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
// /proc/self/exe as "pv-container __stage". Spawn uses the fields that
// make the process (Exe, Args, Cloneflags, UIDMappings, GIDMappings),
// Stage.Start the others (Cgroup, Console, Network).
type Options struct {
	Exe        string    // the binary holding the stage; /proc/self/exe by default
	Args       []string  // its argv; {"pv-container", StageArg} by default
	Cloneflags uintptr   // namespaces to create (the stage unshares CLONE_NEWCGROUP and CLONE_NEWNS itself)
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

// Start creates the container's namespaces and runs its init: Spawn, then
// Stage.Start.
func Start(spec *Spec, opts Options) (*Process, error) {
	s, err := Spawn(opts)
	if err != nil {
		return nil, printf.Errorf("starting %s: %w", spec.Name, err)
	}
	return s.Start(spec, opts)
}

// Stage is a container's stage process, spawned before its Spec is sent:
// its runtime is up and it waits. Start releases it; Close ends it unused.
type Stage struct {
	p       *Process
	spawned Options  // its process options (Exe, Args, Cloneflags, id maps)
	specW   *os.File // the stage's spec fd, written once by Start
	sync    *os.File
	slave   string // the console pty slave's path, sent in the Spec
	ready   bool   // its readyByte was read
	closed  bool
}

// Pid is the stage's process id, which the container's init keeps.
func (s *Stage) Pid() int { return s.p.Pid }

// Gone reports whether the stage has exited (killed while it waited,
// say): it can start nothing. It leaves the exit to Close to collect.
func (s *Stage) Gone() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, s.p.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err != nil || info.Signo != 0 // the kernel fills it only for an exited child
}

// Ready waits until the stage's runtime is up and it waits for its Spec
// (Start waits for that too before it releases the stage).
func (s *Stage) Ready() error {
	if s.ready {
		return nil
	}
	var b [1]byte
	if _, err := io.ReadFull(s.sync, b[:]); err != nil {
		return printf.Errorf("waiting for the stage to be up: %w", err)
	}
	if b[0] != readyByte {
		return printf.Errorf("waiting for the stage to be up: it said %q", b[0])
	}
	s.ready = true
	return nil
}

// Spawn starts the stage of a container: it opens a pty for the console
// and fork+execs the stage with the clone flags, which then waits for
// Stage.Start. The mount namespace is not created at the clone but by
// the stage once released, so the mounts the parent makes between Spawn
// and Start (the container's volumes) are in it.
func Spawn(opts Options) (*Stage, error) {
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
	defer childSync.Close()

	cmd := opts.command(specR, childSync, slave)
	err = cmd.Start()
	// Our copies of the stage's ends would hide their EOF (sync) and keep
	// the console open after the container is gone (pty slave).
	childSync.Close()
	slave.Close()
	if err != nil {
		master.Close()
		specW.Close()
		syncSock.Close()
		return nil, err
	}
	p := &Process{Pid: cmd.Process.Pid, cmd: cmd, console: master, copied: make(chan struct{})}
	return &Stage{p: p, spawned: opts.process(), specW: specW, sync: syncSock, slave: slave.Name()}, nil
}

// process is o's process options only: what Spawn uses.
func (o *Options) process() Options {
	return Options{Exe: o.Exe, Args: o.Args, Cloneflags: o.Cloneflags, UIDMappings: o.UIDMappings, GIDMappings: o.GIDMappings}
}

// Fits reports whether the stage was spawned with opts' process options
// (Exe, Args, Cloneflags, id maps), so that it can start a container
// planned with them: what a launch checks of a stage spawned ahead.
func (s *Stage) Fits(opts Options) bool {
	a, b := s.spawned, opts.process()
	return a.Exe == b.Exe && slices.Equal(a.Args, b.Args) && a.Cloneflags == b.Cloneflags &&
		slices.Equal(a.UIDMappings, b.UIDMappings) && slices.Equal(a.GIDMappings, b.GIDMappings)
}

// Start forwards the console to opts.Console, sends spec to the stage,
// puts it in opts.Cgroup, creates its network interfaces (opts.Network),
// lets it go, and waits until it has exec'd the init (or reports why it
// could not). On failure the stage is killed. A Stage starts once.
func (s *Stage) Start(spec *Spec, opts Options) (*Process, error) {
	if s.closed {
		return nil, printf.Errorf("starting %s: %w", spec.Name, errStageUsed)
	}
	if opts.Network != nil && s.spawned.Cloneflags&unix.CLONE_NEWNET == 0 {
		s.Close()
		return nil, printf.Errorf("starting %s: %w", spec.Name, errNetworkNeedsNetns)
	}
	s.closed = true
	defer s.sync.Close()
	s.p.cgroup = opts.Cgroup
	go s.p.copyConsole(opts.Console)
	sent := *spec
	sent.Console = s.slave // the stage binds it at /dev/console
	if err := s.handshake(&sent, opts); err != nil {
		s.p.kill()
		return nil, printf.Errorf("starting %s: %w", spec.Name, err)
	}
	return s.p, nil
}

// Close ends a stage that was not started (a no-op after Start).
func (s *Stage) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.specW.Close()
	s.sync.Close()
	go s.p.copyConsole(io.Discard) // Wait, in kill, waits for the copy's end
	s.p.kill()
}

// errStageUsed: Stage.Start after Start or Close.
var errStageUsed = errors.New("the stage was already started or closed")

func (o *Options) command(spec, sync, tty *os.File) *exec.Cmd {
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
			Cloneflags: o.Cloneflags &^ (unix.CLONE_NEWCGROUP | unix.CLONE_NEWNS),
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
// waits for the stage to be up, releases it and reads its verdict: EOF
// (the sync fd closed on exec) means the init runs.
func (s *Stage) handshake(spec *Spec, opts Options) error {
	p := s.p
	_, err := s.specW.Write(spec.encode())
	s.specW.Close()
	if err != nil {
		return printf.Errorf("sending spec: %w", err)
	}
	if p.cgroup != nil {
		if err := p.cgroup.Add(p.Pid); err != nil {
			return err
		}
	}
	if opts.Network != nil {
		if err := opts.Network.Attach(p.Pid); err != nil {
			return printf.Errorf("attaching the network: %w", err)
		}
	}
	if err := s.Ready(); err != nil {
		return err
	}
	if _, err := s.sync.Write([]byte{goByte(s.spawned.Cloneflags)}); err != nil {
		return printf.Errorf("releasing stage: %w", err)
	}
	msg, err := io.ReadAll(s.sync)
	if err != nil {
		return printf.Errorf("waiting for stage: %w", err)
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
		return nil, nil, printf.Errorf("console: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, printf.Errorf("console: unlocking pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, printf.Errorf("console: pty number: %w", err)
	}
	slave, err := os.OpenFile(printf.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, printf.Errorf("console: %w", err)
	}
	return master, slave, nil
}
