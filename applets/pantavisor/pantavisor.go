// Package pantavisor is the init applet: PID 1 of a Pantavisor device.
//
// Synopsis:
//
//	init
//	pantavisor [--appengine --storage DIR [--rev N] [options]]
//	pantavisor validate FILE|DIR|PKG.tgz|PKG.tar
//	pantavisor install --storage DIR [--rev N] PKG.tgz|PKG.tar|DIR
//
// As PID 1 it mounts /proc, /sys, /dev, /dev/pts and /run, loads the kernel
// modules the initramfs lists in /etc/pantavisor/modules.load, and prints a
// one-line banner with the version, the kernel and the uptime. On the kernel
// command line, pv_test=poweroff makes it power off right after the banner.
// Otherwise it forks the main loop (pantavisor --main-loop: cgroups, the
// storage device of PV_STORAGE_DEVICE, default LABEL=pvstorage, and the
// revision of pv_try or pv_rev run by the engine) and reaps every child.
// When the main loop ends it powers off (exit 0) or reboots (anything
// else); SIGTERM, SIGINT and SIGUSR2 ask the main loop to stop first.
// pv_test=ready-poweroff stops the main loop once the revision is READY.
//
// The validate subcommand checks a state JSON, an unpacked package or trail
// directory, or a pvr package tarball, and prints a summary (validate.go;
// "pantavisor validate --help" documents the format). The install
// subcommand adds a revision to a storage directory and checks its
// integrity; board image builders make the factory revision 0 with it.
//
// Options:
//
//	--appengine  run the engine as a normal process on an existing Linux
//	--storage, --rev, --rundir, --volumes, --configs, --statedir, --cgroup-parent
//	             where appengine mode finds and puts things
//
// Exit codes: as PID 1 it never exits. --appengine: 0 stopped by SIGTERM or
// SIGINT, 1 the revision cannot run, 3 reboot requested, 4 rollback
// requested. Otherwise 0 for --help, 1 when it cannot run (not PID 1), 2
// on a usage error.
// validate: 0 valid, 1 invalid or objects missing, 2 usage error.
// install: 0 installed, 1 refused (storage unchanged), 2 usage error.
package pantavisor

import (
	"context"
	"io"
	"os"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/cli"
	"pantavisor/lib/cmdline"
	"pantavisor/lib/config"
	"pantavisor/lib/early"
	"pantavisor/lib/kmod"
	"pantavisor/lib/pid1"
	"pantavisor/lib/power"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/sysinfo"
)

// ModulesList is the load list mkinitrd writes into the initramfs.
const ModulesList = "/etc/pantavisor/modules.load"

var errNotPID1 error = &sentinel.Error{Text: "not running as PID 1"}

type options struct {
	appengine bool
	engine    appengineFlags
	paths     [4]string // --storage, --rundir, --volumes, --configs
}

// pathFlags are appengine's path flags and the keys they override.
var pathFlags = [...]struct {
	name string
	key  config.Key
	def  string
	help string
}{
	{"storage", config.StorageMntpoint, config.DefaultStorage, "appengine: storage directory (PV_STORAGE_MNTPOINT)"},
	{"rundir", config.SystemRundir, config.DefaultRunDir, "appengine: run dir (PV_SYSTEM_RUNDIR)"},
	{"volumes", config.DiskVoldir, "/volumes", "appengine: where /volumes is (PV_DISK_VOLDIR)"},
	{"configs", config.SystemConfdir, "/configs", "appengine: _config overlay copies (PV_SYSTEM_CONFDIR)"},
}

// IsCommand reports whether word, as the first argument, selects one of
// the applet's commands: validate, install, or the internal entries of the
// main loop and the supervisor. Options start with '-'; any other word is
// no command of this applet (dispatch says so instead of running it).
func IsCommand(word string) bool {
	switch word {
	case "validate", "install", pid1.MainLoopArg, pid1.SuperviseArg:
		return true
	}
	return false
}

// Main runs the applet with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		switch args[1] { // subcommands; anything else is a flag of the daemon
		case "validate":
			return validateMain(args[1:], stdout, stderr)
		case "install":
			return installMain(args[1:], stdout, stderr)
		case pid1.MainLoopArg:
			return mainLoop(stdout)
		case pid1.SuperviseArg:
			if os.Getpid() == 1 {
				resumePID1(args[2:], os.Stdout)
			}
			printf.Fprintf(stderr, "%s: %s: %v\n", args[0], pid1.SuperviseArg, errNotPID1)
			return 1
		}
	}
	var opts options
	fs := cli.NewFlags(args[0], "Usage: "+args[0]+" [--appengine [options]]\n       "+args[0]+
		" validate|install ...\n\nPID 1 of a Pantavisor device, or its engine on an existing Linux (--appengine).\n", stdout, stderr)
	fs.BoolVar(&opts.appengine, "appengine", false, "run the engine as a normal process on an existing Linux")
	for i, p := range pathFlags {
		fs.StringVar(&opts.paths[i], p.name, p.def, p.help)
	}
	e := &opts.engine
	fs.StringVar(&e.rev, "rev", "", "appengine: revision to run (default trails/current, else 0)")
	fs.StringVar(&e.stateDir, "statedir", "/run/pantavisor/containers", "appengine: rootfs mount points")
	fs.StringVar(&e.cgroupParent, "cgroup-parent", "pantavisor", "appengine: parent cgroup of the containers")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	switch {
	case opts.appengine:
		// A path flag overrides its key; one not given leaves the key to
		// the environment, else its default (the flag's default).
		e.overrides = map[config.Key]string{}
		for i, p := range pathFlags {
			if fs.IsSet(p.name) {
				e.overrides[p.key] = opts.paths[i]
			}
		}
		return appengine(opts.engine, stderr)
	case os.Getpid() != 1:
		printf.Fprintf(stderr, "%s: %v (use --appengine to run the engine as a normal process)\n", args[0], errNotPID1)
		return 1
	}
	runPID1(stdout)
	return 0 // not reached: runPID1 never returns
}

// runPID1 is the embedded init. It never returns: a panic is printed and the
// machine restarts so the bootloader can act.
func runPID1(console io.Writer) {
	s := &pid1.Supervisor{Console: console}
	ctx := context.Background() // Halt never returns
	defer s.RestartOnPanic(ctx)
	// Signals first, so none arrives before it is handled.
	sigs := pid1.Signals()

	for _, f := range early.Run(early.Default()) {
		printf.Fprintf(console, "pantavisor: early boot: %v\n", f)
	}
	if err := power.DisableCtrlAltDel(); err != nil {
		printf.Fprintf(console, "pantavisor: %v\n", err)
	}
	n, errs := (&kmod.Loader{}).LoadList(ModulesList)
	for _, err := range errs {
		printf.Fprintf(console, "pantavisor: %v\n", err)
	}
	printf.Fprintln(console, banner(n))

	cl, err := readCmdline()
	if err != nil {
		printf.Fprintf(console, "pantavisor: %v\n", err)
	}
	if v, _ := cl.Get("pv_test"); v == "poweroff" {
		printf.Fprintln(console, "pantavisor: pv_test=poweroff: powering off")
		s.Halt(ctx, power.PowerOff)
	}
	s.Boot(ctx, os.Stdout, sigs) // the main loop's stdio: the console
}

// resumePID1 is PID 1 after its re-exec as the main loop's supervisor
// (pid1.SuperviseArg): args name the main loop's pid. It never returns.
func resumePID1(args []string, console *os.File) {
	s := &pid1.Supervisor{Console: console}
	ctx := context.Background() // Halt never returns
	defer s.RestartOnPanic(ctx)
	s.Resume(ctx, args, pid1.Signals())
}

// buildInfo is the GET /buildinfo text: what this binary is.
func buildInfo() []byte {
	return []byte("pantavisor " + buildinfo.Version + " (Go)\n")
}

// banner is the one line that says the init is up.
func banner(modules int) string {
	k, err := sysinfo.Uname()
	if err != nil {
		k = sysinfo.Kernel{Release: "?", Machine: "?"}
	}
	up, err := sysinfo.Uptime()
	upS := "?"
	if err == nil {
		upS = printf.Sprintf("%.2fs", up.Seconds())
	}
	return printf.Sprintf("Pantavisor %s (Go) on Linux %s %s: init up at %s, %d modules loaded",
		buildinfo.Version, k.Release, k.Machine, upS, modules)
}

func readCmdline() (cmdline.Cmdline, error) {
	f, err := os.Open("/proc/cmdline")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return cmdline.Read(f)
}
