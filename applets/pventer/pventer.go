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
//	--cgroup-parent NAME  containers' cgroups are <hierarchy>/NAME/<container> (default pantavisor;
//	                      "/": <hierarchy>/<container>, where an embedded device keeps them)
//
// Exit codes: the command's exit code (128+N when killed by signal N); 1
// when pventer fails (no container found: NAME, or it cannot enter); 2 on
// a usage error.
package pventer

import (
	"cmp"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cli"
	"pantavisor/lib/enter"
	"pantavisor/lib/printf"
)

const usage = `Usage: pventer -c|--container NAME [CMD [ARG...]]

Run CMD (default: a login shell) inside container NAME's namespaces and
cgroups, through the container user's shell (-c "CMD ARG..."). NAME "/" or
"_pv_" is the host. The user is $PVUSER (default root) of the container's
/etc/passwd: it gives HOME, SHELL and the working directory.
Unlike upstream, pventer exits 2 when -c is missing.
`

// Main runs pventer with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := enter.Options{User: cmp.Or(os.Getenv("PVUSER"), "root"), Term: os.Getenv("TERM"),
		Stdin: stdin, Stdout: stdout, Stderr: stderr}
	fs := cli.NewFlags(args[0], usage, stdout, stderr)
	fs.StringVar(&o.Container, "c", "", "the container to enter (\"/\" or \"_pv_\": the host)")
	fs.StringVar(&o.Container, "container", "", "same as -c")
	fs.StringVar(&o.Parent, "cgroup-parent", "pantavisor", "containers' cgroups are <hierarchy>/NAME/<container> (\"/\": <hierarchy>/<container>, an embedded device's)")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	if o.Container == "" {
		printf.Fprintln(stderr, "ERROR: see --help")
		return cli.ExitUsage
	}
	o.Args = fs.Args()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)
	o.Signals = sigs
	code, err := enter.Run(o)
	if err != nil {
		printf.Fprintf(stderr, "pventer: %v\n", err)
		return cli.ExitFail
	}
	return code
}
