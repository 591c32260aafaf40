package pantavisor

import (
	"context"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"pantavisor/lib/config"
	"pantavisor/lib/device"
	"pantavisor/lib/engine"
	"pantavisor/lib/pid1"
	"pantavisor/lib/printf"
)

// Exit codes of appengine mode: what a device would do next.
const (
	ExitStopped  = 0 // SIGTERM/SIGINT: containers stopped (a "reboot" of the appengine)
	ExitFailed   = 1 // the revision could not be run at all (also: its signatures were refused)
	ExitReboot   = 3 // the engine asks for a reboot (a container failed without recovery)
	ExitRollback = 4 // the revision under test failed: roll back
)

// appengineFlags are appengine's command line: the paths override their
// configuration keys; the others have no key.
type appengineFlags struct {
	overrides    map[config.Key]string // flags given: --storage, --rundir, --volumes, --configs
	rev          string
	stateDir     string
	cgroupParent string
}

// appengine runs the engine as a normal process until SIGTERM/SIGINT or
// until it asks for a reboot or rollback, which it reports by exit code.
// Its configuration is the environment (PV_*), then the flags.
func appengine(f appengineFlags, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	cfg := config.New()
	for _, w := range cfg.LoadEnv(os.Environ()) {
		printf.Fprintf(stderr, "pantavisor: config: %v\n", w)
	}
	for k, v := range f.overrides {
		if err := cfg.Override(k, v); err != nil {
			printf.Fprintf(stderr, "pantavisor: %v\n", err)
			return ExitFailed
		}
	}
	o, err := device.FromConfig(cfg, device.AppEngine, stderr)
	if err != nil {
		printf.Fprintf(stderr, "pantavisor: %v\n", err)
		return ExitFailed
	}
	o.Launch.StateDir, o.Launch.CgroupParent = f.stateDir, f.cgroupParent
	o.BuildInfo = buildInfo()
	// As a device without a bootloader boots: the storage's direct env,
	// unless --rev names the revision.
	b, rev, trying, err := pid1.ChooseDirect(o.Paths.Storage, f.rev)
	o.Boot, o.Rev, o.Trying = b, rev, trying
	if err != nil {
		printf.Fprintf(stderr, "pantavisor: bootloader env: %v\n", err)
	}
	d, err := device.New(o, nil)
	var out engine.Outcome
	if err == nil {
		out, err = d.Run(ctx)
	}
	if err != nil {
		printf.Fprintf(stderr, "pantavisor: %v\n", err)
		return ExitFailed
	}
	switch { // the device has logged why
	case out.Cause == engine.BadSignature || out.Cause == engine.NotCovered:
		return ExitFailed // the revision cannot run: its signatures were refused
	}
	switch out.Action {
	case engine.Reboot:
		return ExitReboot
	case engine.Rollback:
		return ExitRollback
	}
	printf.Fprintln(stderr, "pantavisor: stopped")
	return ExitStopped
}
