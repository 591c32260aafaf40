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
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/cli"
	"pantavisor/lib/cmdline"
	"pantavisor/lib/device"
	"pantavisor/lib/early"
	"pantavisor/lib/kmod"
	"pantavisor/lib/power"
	"pantavisor/lib/sysinfo"
)

// ModulesList is the load list mkinitrd writes into the initramfs.
const ModulesList = "/etc/pantavisor/modules.load"

var errNotPID1 = errors.New("not running as PID 1")

type options struct {
	appengine bool
	device    device.Options
}

// IsCommand reports whether word, as the first argument, selects one of
// the applet's commands: validate, install, or the internal entries of the
// main loop and the supervisor. Options start with '-'; any other word is
// no command of this applet (dispatch says so instead of running it).
func IsCommand(word string) bool {
	switch word {
	case "validate", "install", mainArg, superviseArg:
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
		case mainArg:
			return mainLoop(stdout)
		case superviseArg:
			if os.Getpid() == 1 {
				superviseMain(args[2:], os.Stdout)
			}
			fmt.Fprintf(stderr, "%s: %s: %v\n", args[0], superviseArg, errNotPID1)
			return 1
		}
	}
	var opts options
	fs := cli.NewFlags(args[0], "Usage: "+args[0]+" [--appengine [options]]\n       "+args[0]+
		" validate|install ...\n\nPID 1 of a Pantavisor device, or its engine on an existing Linux (--appengine).\n", stdout, stderr)
	fs.BoolVar(&opts.appengine, "appengine", false, "run the engine as a normal process on an existing Linux")
	d := &opts.device
	fs.StringVar(&d.Storage, "storage", "/storage", "appengine: storage directory")
	fs.StringVar(&d.Rev, "rev", "", "appengine: revision to run (default trails/current, else 0)")
	fs.StringVar(&d.RunDir, "rundir", "/run/pantavisor/pv", "appengine: run dir")
	fs.StringVar(&d.Launch.Host.VolumesDir, "volumes", "/volumes", "appengine: where /volumes is")
	fs.StringVar(&d.Launch.Host.ConfigsDir, "configs", "/configs", "appengine: _config overlay copies")
	fs.StringVar(&d.Launch.StateDir, "statedir", "/run/pantavisor/containers", "appengine: rootfs mount points")
	fs.StringVar(&d.Launch.CgroupParent, "cgroup-parent", "pantavisor", "appengine: parent cgroup of the containers")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	switch {
	case opts.appengine:
		return appengine(opts.device, stderr)
	case os.Getpid() != 1:
		fmt.Fprintf(stderr, "%s: %v (use --appengine to run the engine as a normal process)\n", args[0], errNotPID1)
		return 1
	}
	pid1(stdout)
	return 0 // not reached: pid1 never returns
}

// pid1 is the embedded init. It never returns: a panic is printed and the
// machine restarts so the bootloader can act.
func pid1(console io.Writer) {
	defer restartOnPanic(console)
	// Signals first, so none arrives before it is handled.
	sigs := pid1Signals()

	for _, f := range early.Run(early.Default()) {
		fmt.Fprintf(console, "pantavisor: early boot: %v\n", f)
	}
	if err := power.DisableCtrlAltDel(); err != nil {
		fmt.Fprintf(console, "pantavisor: %v\n", err)
	}
	n, errs := (&kmod.Loader{}).LoadList(ModulesList)
	for _, err := range errs {
		fmt.Fprintf(console, "pantavisor: %v\n", err)
	}
	fmt.Fprintln(console, banner(n))

	cl, err := readCmdline()
	if err != nil {
		fmt.Fprintf(console, "pantavisor: %v\n", err)
	}
	if v, _ := cl.Get("pv_test"); v == "poweroff" {
		fmt.Fprintln(console, "pantavisor: pv_test=poweroff: powering off")
		halt(console, power.PowerOff)
	}
	superviseMainLoop(os.Stdout, sigs)
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
		upS = fmt.Sprintf("%.2fs", up.Seconds())
	}
	return fmt.Sprintf("Pantavisor %s (Go) on Linux %s %s: init up at %s, %d modules loaded",
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

// halt ends the machine and, should the kernel refuse, keeps PID 1 alive
// retrying: PID 1 exiting would panic the kernel.
func halt(console io.Writer, a power.Action) {
	for {
		fmt.Fprintf(console, "pantavisor: %s\n", a)
		if err := power.Do(a); err != nil {
			fmt.Fprintf(console, "pantavisor: %v\n", err)
		}
		time.Sleep(5 * time.Second)
	}
}
