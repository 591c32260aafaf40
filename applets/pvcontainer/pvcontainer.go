// Package pvcontainer is the pv-container applet: run one container in the
// foreground, and the in-namespace stage of every container.
//
// Synopsis:
//
//	pv-container start --storage DIR --rev REV [options] NAME
//	pv-container run --config FILE --rootfs FILE.squashfs [--name NAME] [options]
//
// start runs container NAME of an installed revision (see pantavisor
// install); run a loose LXC config over a squashfs image. The console goes
// to logs/<rev>/<name>/lxc/console.log (start) and to stdout unless
// --quiet. Ctrl-C or SIGTERM stops the container: its halt signal, then
// SIGKILL to its cgroup after --stop-timeout; volumes, loop devices and
// the cgroup are removed afterwards.
//
// Options:
//
//	--volumes DIR        where /volumes is (default /volumes)
//	--rundir DIR         bound at /pantavisor (default /run/pantavisor/pv)
//	--configs DIR        _config overlay copies (default /configs)
//	--statedir DIR       rootfs mount points (default /run/pantavisor/containers)
//	--cgroup-parent NAME cgroups at <hierarchy>/NAME/<container> (default pantavisor)
//	--stop-timeout D     grace period before SIGKILL (default 10s)
//	--quiet              do not copy the console to stdout
//
// Exit codes: the container init's exit code (128+N when killed by signal
// N); 125 when the container cannot start; 2 on a usage error.
package pvcontainer

import (
	"io"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cli"
	"pantavisor/lib/config"
	"pantavisor/lib/container"
	"pantavisor/lib/launch"
	"pantavisor/lib/printf"
	"pantavisor/lib/storage"
	"pantavisor/lib/sysinfo"
)

// ExitCannotStart is returned when no container ran (as docker and podman).
const ExitCannotStart = 125

const usage = `Usage: pv-container start --storage DIR --rev REV [options] NAME
       pv-container run --config FILE --rootfs FILE.squashfs [--name NAME] [options]

Run one container in the foreground; Ctrl-C stops it.
`

type options struct {
	storage, rev, config, rootfs, name string
	quiet                              bool
	timeout                            time.Duration
	launch                             launch.Options
}

// Main runs the applet with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 1 && args[1] == container.StageArg {
		return container.StageMain()
	}
	if len(args) < 2 || (args[1] != "start" && args[1] != "run") {
		fs := cli.NewFlags(args[0], usage, stdout, stderr)
		if code, done := fs.Parse(args[1:]); done {
			return code
		}
		return fs.UsageError("want start or run")
	}
	var o options
	fs := cli.NewFlags(args[0]+" "+args[1], usage, stdout, stderr)
	o.register(fs, args[1])
	if code, done := fs.Parse(args[2:]); done {
		return code
	}
	if args[1] == "start" && (o.storage == "" || o.rev == "" || fs.NArg() != 1) ||
		args[1] == "run" && (o.config == "" || o.rootfs == "" || fs.NArg() != 0) {
		return fs.UsageError("")
	}
	if args[1] == "start" {
		o.name = fs.Arg(0)
	}
	if !o.quiet {
		o.launch.Console = stdout
	}
	return run(o, args[1], stderr)
}

func (o *options) register(fs *cli.Flags, cmd string) {
	h := &o.launch.Host
	if cmd == "start" {
		fs.StringVar(&o.storage, "storage", "", "storage directory")
		fs.StringVar(&o.rev, "rev", "", "installed revision")
	} else {
		fs.StringVar(&o.config, "config", "", "LXC config file")
		fs.StringVar(&o.rootfs, "rootfs", "", "rootfs squashfs image")
		fs.StringVar(&o.name, "name", "container", "container name")
	}
	fs.StringVar(&h.VolumesDir, "volumes", "/volumes", "where /volumes is")
	fs.StringVar(&h.RunDir, "rundir", config.DefaultRunDir, "bound at /pantavisor")
	fs.StringVar(&h.ConfigsDir, "configs", "/configs", "_config overlay copies")
	fs.StringVar(&o.launch.StateDir, "statedir", "/run/pantavisor/containers", "rootfs mount points")
	fs.StringVar(&o.launch.CgroupParent, "cgroup-parent", "pantavisor", "parent cgroup of the container's")
	fs.DurationVar(&o.timeout, "stop-timeout", 10*time.Second, "grace period before SIGKILL")
	fs.BoolVar(&o.quiet, "quiet", false, "do not copy the console to stdout")
}

func run(o options, cmd string, stderr io.Writer) int {
	if k, err := sysinfo.Uname(); err == nil {
		o.launch.Host.KernelRelease = k.Release
	}
	_, err := os.Stat("/dev/log")
	o.launch.Host.DevLog = err == nil
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
	defer signal.Stop(sigs)

	in, err := start(o, cmd)
	if err != nil {
		printf.Fprintf(stderr, "pv-container: %v\n", err)
		return ExitCannotStart
	}
	for _, w := range in.Warning {
		printf.Fprintf(stderr, "pv-container: warning: %s\n", w)
	}
	done := make(chan int, 1)
	go func() { done <- in.Wait() }()
	var code int
	select {
	case code = <-done:
	case <-sigs:
		if code, err = in.Stop(o.timeout); err != nil {
			printf.Fprintf(stderr, "pv-container: stopping %s: %v\n", in.Name, err)
		}
	}
	if err := in.Close(); err != nil {
		printf.Fprintf(stderr, "pv-container: cleaning up %s: %v\n", in.Name, err)
	}
	return code
}

func start(o options, cmd string) (*launch.Instance, error) {
	if cmd == "run" {
		return launch.StartLoose(o.config, o.rootfs, o.name, o.launch)
	}
	st, err := storage.Open(o.storage, storage.Options{Existing: true})
	if err != nil {
		return nil, err
	}
	return launch.StartRevision(st, o.rev, o.name, o.launch)
}
