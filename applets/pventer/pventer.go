// Package pventer is the pventer applet: run a command inside a running
// container's namespaces and cgroups.
//
// Synopsis:
//
//	pventer -c|--container NAME [CMD [ARG...]]
//
// pventer finds the init of container NAME (the process of the container's
// cgroup, <hierarchy>/<cgroup-parent>/NAME, whose parent is outside it),
// moves itself into every cgroup of the container (so pv-ctrl and the log
// server identify what it runs as that container; its few Go threads then
// count against the container's pids limit while it waits), joins the init's
// cgroup, ipc, uts, net, pid and mount namespaces and runs, from the
// container's view, "<shell> -l" or, with CMD, "<shell> -c 'CMD ARG...'"
// (the words joined by spaces, as upstream's SSH_ORIGINAL_COMMAND, so
// pipes in one argument work). NAME "/" or "_pv_" is the host: pid 1's
// namespaces, cgroups untouched.
//
// The shell and the working directory are the home and shell of user
// $PVUSER (default root) in the container's /etc/passwd (else / and
// /bin/sh). The environment is the init's, with USER, HOME and SHELL set
// from that entry, TERM passed through and PATH defaulted. The command
// still runs as root with pventer's capabilities (upstream does not
// switch user or drop to the container's capability set either); a user
// namespace of the container is not joined (Go cannot setns one from a
// multi-threaded process; containers here never have one). SIGINT,
// SIGTERM, SIGHUP and SIGQUIT are forwarded to the command.
//
// Deviation: without -c upstream prints "ERROR: see --help" and carries
// on; pventer prints it and exits 2.
//
// Options:
//
//	-c, --container NAME  the container to enter ("/" or "_pv_": the host)
//	--cgroup-parent NAME  containers' cgroups are <hierarchy>/NAME/<container> (default pantavisor)
//
// Exit codes: the command's exit code (128+N when killed by signal N); 1
// when pventer fails (no container found: NAME, or it cannot enter); 2 on
// a usage error.
package pventer

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/cli"
	"pantavisor/lib/enter"
)

const usage = `Usage: pventer -c|--container NAME [CMD [ARG...]]

Run CMD (default: a login shell) inside container NAME's namespaces and
cgroups, through the container user's shell (-c "CMD ARG..."). NAME "/" or
"_pv_" is the host. The user is $PVUSER (default root) of the container's
/etc/passwd: it gives HOME, SHELL and the working directory.
Unlike upstream, pventer exits 2 when -c is missing.
`

// options are a parsed command line plus the seams tests move.
type options struct {
	container string
	parent    string   // cgroup parent of the containers
	args      []string // CMD ARG...; none: login shell
	user      string   // PVUSER
	term      string   // TERM to pass through
	proc      string   // procfs root; /proc
	self      int      // pid moved into the container's cgroups; os.Getpid()
	hostPid   int      // the process whose namespaces are the host's; 1
}

// Main runs pventer with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := options{user: cmp.Or(os.Getenv("PVUSER"), "root"), term: os.Getenv("TERM"),
		proc: "/proc", self: os.Getpid(), hostPid: 1}
	fs := cli.NewFlags(args[0], usage, stdout, stderr)
	fs.StringVar(&o.container, "c", "", "the container to enter (\"/\" or \"_pv_\": the host)")
	fs.StringVar(&o.container, "container", "", "same as -c")
	fs.StringVar(&o.parent, "cgroup-parent", "pantavisor", "containers' cgroups are <hierarchy>/NAME/<container>")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	if o.container == "" {
		fmt.Fprintln(stderr, "ERROR: see --help")
		return cli.ExitUsage
	}
	o.args = fs.Args()
	code, err := run(o, stdin, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "pventer: %v\n", err)
		return cli.ExitFail
	}
	return code
}

// run enters the container and runs the command: find the init, join
// its cgroups, read its environment, start the command inside
// (StartInside, command), then wait for it while forwarding signals.
func run(o options, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	pid := o.hostPid
	if !enter.IsHost(o.container) {
		var err error
		if pid, err = enter.FindInit(o.proc, o.parent, o.container); err != nil {
			return 0, err
		}
		if err := joinCgroups(o, pid); err != nil {
			return 0, err
		}
	}
	environ, err := os.ReadFile(filepath.Join(o.proc, strconv.Itoa(pid), "environ"))
	if err != nil {
		return 0, fmt.Errorf("environment of %s: %w", o.container, err)
	}
	env := enter.ParseEnviron(environ)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)
	cmd, err := enter.StartInside(o.proc, pid, func() (*exec.Cmd, error) {
		return command(o, env, stdin, stdout, stderr)
	})
	if err != nil {
		return 0, fmt.Errorf("enter %s (pid %d): %w", o.container, pid, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case err := <-waited:
			if cmd.ProcessState == nil {
				return 0, err
			}
			return enter.ExitCode(cmd.ProcessState), nil
		}
	}
}

// joinCgroups moves o.self into every hierarchy's group of o.container.
func joinCgroups(o options, pid int) error {
	m := cgroup.Manager{Proc: o.proc, Parent: o.parent}
	g, err := m.Group(o.container)
	if err == nil {
		err = g.Add(o.self)
	}
	if err != nil {
		return fmt.Errorf("join cgroups of %s (init pid %d): %w", o.container, pid, err)
	}
	return nil
}

// command builds the command from inside the container (it runs on
// StartInside's thread, so /etc/passwd is the container's, read without
// following its symlinks out to the host as /proc/<pid>/root would): the
// user's shell if executable there, else /bin/sh; their home if a
// directory there, else /.
func command(o options, initEnv []string, stdin io.Reader, stdout, stderr io.Writer) (*exec.Cmd, error) {
	acc, _, err := enter.ReadPasswd("/etc/passwd", o.user)
	if err != nil {
		return nil, err
	}
	if !enter.IsExecutable(acc.Shell) {
		acc.Shell = "/bin/sh"
	}
	if !enter.IsDir(acc.Home) {
		acc.Home = "/"
	}
	argv := []string{acc.Shell, "-l"}
	if len(o.args) > 0 {
		argv = []string{acc.Shell, "-c", strings.Join(o.args, " ")}
	}
	return &exec.Cmd{Path: acc.Shell, Args: argv, Dir: acc.Home,
		Env:   enter.CommandEnv(initEnv, o.user, acc, o.term),
		Stdin: stdin, Stdout: stdout, Stderr: stderr}, nil
}
