package enter

import (
	"cmp"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/printf"
)

// Options say which container to enter and what to run there. Empty
// seams (Parent, User, Proc, Self, HostPid) mean the real system.
type Options struct {
	Container string   // the container's name; "/" or "_pv_": the host
	Parent    string   // cgroup parent of the containers; "pantavisor" when empty, "/" the hierarchy root (embedded devices)
	Args      []string // CMD ARG..., run by the shell with -c; none: a login shell
	User      string   // user of the container's /etc/passwd (HOME, SHELL); "root" when empty
	Term      string   // TERM to pass through; "" keeps the init's

	Stdin          io.Reader // the command's standard streams
	Stdout, Stderr io.Writer
	Signals        <-chan os.Signal // forwarded to the command while it runs; nil: none

	Proc    string // procfs root; "/proc" when empty
	Self    int    // pid moved into the container's cgroups; os.Getpid() when 0
	HostPid int    // the process whose namespaces are the host's; 1 when 0
}

// withDefaults fills the empty seams of o.
func (o Options) withDefaults() Options {
	o.Parent = cmp.Or(o.Parent, "pantavisor")
	o.User = cmp.Or(o.User, "root")
	o.Proc = cmp.Or(o.Proc, "/proc")
	o.Self = cmp.Or(o.Self, os.Getpid())
	o.HostPid = cmp.Or(o.HostPid, 1)
	return o
}

// cgroupParent is Parent as cgroup.Manager takes it: "/" is the
// hierarchy root ("").
func (o Options) cgroupParent() string {
	if o.Parent == "/" {
		return ""
	}
	return o.Parent
}

// Run enters the container and runs the command, returning its exit code
// (128+N when signal N killed it). Steps: find the init (FindInit; the
// host is HostPid), join its cgroups (not for the host), read its
// environment, start the command inside (StartInside, command), then
// wait for it while forwarding o.Signals. A container with no process is
// ErrNoContainer.
func Run(o Options) (int, error) {
	o = o.withDefaults()
	pid := o.HostPid
	if !IsHost(o.Container) {
		var err error
		if pid, err = FindInit(o.Proc, o.cgroupParent(), o.Container); err != nil {
			return 0, err
		}
		if err := joinCgroups(o, pid); err != nil {
			return 0, err
		}
	}
	environ, err := os.ReadFile(filepath.Join(o.Proc, strconv.Itoa(pid), "environ"))
	if err != nil {
		return 0, printf.Errorf("environment of %s: %w", o.Container, err)
	}
	env := parseEnviron(environ)
	cmd, err := StartInside(o.Proc, pid, func() (*exec.Cmd, error) {
		return command(o, env)
	})
	if err != nil {
		return 0, printf.Errorf("enter %s (pid %d): %w", o.Container, pid, err)
	}
	return wait(cmd, o.Signals)
}

// wait waits for cmd, forwarding what arrives on sigs to it.
func wait(cmd *exec.Cmd, sigs <-chan os.Signal) (int, error) {
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s) // it may have exited meanwhile
		case err := <-waited:
			if cmd.ProcessState == nil {
				return 0, err
			}
			return exitCode(cmd.ProcessState), nil
		}
	}
}

// joinCgroups moves o.Self into every hierarchy's group of o.Container.
func joinCgroups(o Options, pid int) error {
	m := cgroup.Manager{Proc: o.Proc, Parent: o.cgroupParent()}
	g, err := m.Group(o.Container)
	if err == nil {
		err = g.Add(o.Self)
	}
	if err != nil {
		return printf.Errorf("join cgroups of %s (init pid %d): %w", o.Container, pid, err)
	}
	return nil
}

// command builds the command from inside the container (it runs on
// StartInside's thread, so /etc/passwd is the container's, read without
// following its symlinks out to the host as /proc/<pid>/root would): the
// user's shell if executable there, else /bin/sh; their home if a
// directory there, else /.
func command(o Options, initEnv []string) (*exec.Cmd, error) {
	acc, _, err := readPasswd("/etc/passwd", o.User)
	if err != nil {
		return nil, err
	}
	if !isExecutable(acc.Shell) {
		acc.Shell = "/bin/sh"
	}
	if !isDir(acc.Home) {
		acc.Home = "/"
	}
	argv := []string{acc.Shell, "-l"}
	if len(o.Args) > 0 {
		argv = []string{acc.Shell, "-c", strings.Join(o.Args, " ")}
	}
	return &exec.Cmd{Path: acc.Shell, Args: argv, Dir: acc.Home,
		Env:   commandEnv(initEnv, o.User, acc, o.Term),
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr}, nil
}
