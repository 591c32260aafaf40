package pantavisor

import (
	"context"
	"time"

	"pantavisor/lib/debugshell"
	"pantavisor/lib/device"
	"pantavisor/lib/engine"
)

// shellObserver is the main loop's observer with a debug shell: the end
// of a revision waits for an open shell (device.Holder).
type shellObserver struct {
	*embedded
	sh *debugshell.Shell
}

// HoldEnd waits for the debug shell to close (or its timeout), feeding
// the watchdog every second meanwhile (the engine's loop may be waiting).
func (o shellObserver) HoldEnd(out engine.Outcome) {
	done := make(chan struct{})
	go func() { o.sh.Hold(context.Background(), out.Error()); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			o.Tick()
		}
	}
}

// DeferEnd gives a waiting end d more.
func (o shellObserver) DeferEnd(d time.Duration) { o.sh.Defer(context.Background(), d) }

// withShell is obs, as a device.Holder when there is a shell.
func withShell(obs *embedded, sh *debugshell.Shell) device.Observer {
	if sh == nil {
		return obs
	}
	return shellObserver{obs, sh}
}

// runShell runs sh (if any) until the returned func is called, which
// stops an open shell and waits for Run to return.
func runShell(ctx context.Context, sh *debugshell.Shell) func() {
	if sh == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { sh.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}
