package pantavisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"pantavisor/lib/config"
	"pantavisor/lib/device"
	"pantavisor/lib/engine"
	"pantavisor/lib/logs"
	"pantavisor/lib/pid1"
	"pantavisor/lib/sysinfo"
)

// Exit codes of appengine mode: what a device would do next.
const (
	ExitStopped  = 0 // SIGTERM/SIGINT: containers stopped (a "reboot" of the appengine)
	ExitFailed   = 1 // the revision could not be run at all
	ExitReboot   = 3 // the engine asks for a reboot (a container failed without recovery)
	ExitRollback = 4 // the revision under test failed: roll back
)

// chooseDirect sets the revision an appengine runs (pid1.ChooseDirect:
// the storage's direct env, unless --rev names one).
func chooseDirect(o *device.Options) error {
	b, rev, trying, err := pid1.ChooseDirect(o.Storage, o.Rev)
	if b == nil {
		return err
	}
	o.Boot, o.Rev, o.Trying = b, rev, trying
	if trying {
		o.Try = rev
	}
	return err
}

// appengine runs the engine as a normal process until SIGTERM/SIGINT or
// until it asks for a reboot or rollback, which it reports by exit code.
func appengine(o device.Options, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	if k, err := sysinfo.Uname(); err == nil {
		o.Launch.Host.KernelRelease = k.Release
	}
	if _, err := os.Stat("/dev/log"); err == nil {
		o.Launch.Host.DevLog = true
	}
	o.Engine.Log = func(l engine.Level, msg string) {
		fmt.Fprintf(stderr, "pantavisor: %s\n", msg)
	}
	o.Logs = &logs.Server{RunDir: o.RunDir, Stdout: stderr, Level: embeddedLogLevel}
	o.Config = config.New()
	for _, w := range o.Config.LoadEnv(os.Environ()) {
		fmt.Fprintf(stderr, "pantavisor: config: %v\n", w)
	}
	o.AppEngine = true
	o.BuildInfo = buildInfo()
	if err := chooseDirect(&o); err != nil {
		fmt.Fprintf(stderr, "pantavisor: bootloader env: %v\n", err)
	}
	out, err := device.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "pantavisor: %v\n", err)
		return ExitFailed
	}
	switch out.Action { // the engine has logged why
	case engine.Reboot:
		return ExitReboot
	case engine.Rollback:
		return ExitRollback
	}
	fmt.Fprintln(stderr, "pantavisor: stopped")
	return ExitStopped
}
