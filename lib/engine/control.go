package engine

import (
	"time"

	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// Control errors. Their text is upstream's reply body for
// PUT /containers/{name}, so the HTTP layer can send it as is.
var (
	ErrNoContainer    error = &sentinel.Error{Text: "Container not found"}                                                    // 404
	ErrSystemPolicy   error = &sentinel.Error{Text: "Container has restart_policy 'system' and cannot be controlled via API"} // 403
	ErrNotStartable   error = &sentinel.Error{Text: "Container must be in STOPPED, STOPPING, or RECOVERING state to start"}   // 400
	ErrNotRestartable error = &sentinel.Error{Text: "Container state does not allow restart"}                                 // 400
	ErrBadAction      error = &sentinel.Error{Text: "Invalid action. Use 'start', 'stop', or 'restart'"}                      // 400
)

// control applies a user action to c (reference pantavisor-control §2.1).
// Checks, in upstream order: the container exists, its restart_policy is
// "container", the action is known.
func (e *Engine) control(c *ctr, action string) error {
	if c == nil {
		return ErrNoContainer
	}
	if c.c.RestartPolicy != state.PolicyContainer {
		return ErrSystemPolicy
	}
	switch action {
	case "stop":
		e.userStop(c)
		return nil
	case "start":
		return e.userStart(c)
	case "restart":
		return e.userRestart(c)
	}
	return ErrBadAction
}

// running: the container has a live unit and no stop is under way.
func running(s Status) bool {
	return s == Mounted || s == Starting || s == Started || s == Ready
}

// userStop marks c user-stopped: a running container is stopped in the
// background, a waiting or recovering one will not be (re)started, and a
// pending restart is cancelled. It always succeeds.
func (e *Engine) userStop(c *ctr) {
	c.userStopped, c.reinstall = true, false
	e.halt(c)
	e.logf(LevelInfo, "container %s stopped by request", c.c.Name)
}

// userStart clears user_stopped and reinstalls c: at once when it is
// STOPPED or RECOVERING, once its stop completes when STOPPING. Running is
// a no-op; INSTALLED or BLOCKED (about to start) is ErrNotStartable.
func (e *Engine) userStart(c *ctr) error {
	switch {
	case running(c.status):
		return nil
	case c.status == Stopping:
		c.userStopped, c.reinstall = false, true
	case c.status == Stopped || c.status == Recovering:
		e.reinstallNow(c)
	default:
		return ErrNotStartable
	}
	e.logf(LevelInfo, "container %s started by request", c.c.Name)
	return nil
}

// userRestart stops a running c and reinstalls it once it exited (a
// Preparer runner prepares its start while it stops); reinstalls a
// STOPPED or RECOVERING one directly. While STOPPING (a stop
// or restart already under way) or not yet started it is
// ErrNotRestartable.
func (e *Engine) userRestart(c *ctr) error {
	switch {
	case running(c.status):
		c.userStopped, c.reinstall = false, true
		e.stopAsync(c)
		e.prepare(c) // while it stops
	case c.status == Stopped || c.status == Recovering:
		e.reinstallNow(c)
	default:
		return ErrNotRestartable
	}
	e.logf(LevelInfo, "container %s restarted by request", c.c.Name)
	return nil
}

// halt stops c: a running one in the background (STOPPING), a waiting
// or recovering one at once (STOPPED); one already stopping goes on.
func (e *Engine) halt(c *ctr) {
	switch {
	case running(c.status):
		e.stopAsync(c)
	case c.status != Stopping:
		c.status = Stopped
	}
}

// reinstallNow makes c INSTALLED with a fresh retry count, so the next
// step starts it when the group rule allows.
func (e *Engine) reinstallNow(c *ctr) {
	c.userStopped, c.reinstall = false, false
	c.retries, c.resetAt = 0, time.Time{}
	c.status = Installed
}

// stopAsync stops c's unit without blocking the loop: STOPPING now, the
// halt (SIGKILL after StopTimeout) in a goroutine. The exit reaches the
// loop through e.exits like any other; a mount-only unit, which has no
// waiter, sends it from here. stopDone closes once Stop returned.
func (e *Engine) stopAsync(c *ctr) {
	u, gen, mountOnly := c.unit, c.gen, c.status == Mounted
	done := make(chan struct{})
	c.status, c.stopDone = Stopping, done
	go func() {
		code, _ := u.Stop(e.o.StopTimeout)
		close(done)
		if mountOnly {
			e.exits <- exited{c: c, u: u, gen: gen, code: code}
		}
	}()
}

// stopped ends a requested stop: c is STOPPED, or INSTALLED again when a
// start or restart is pending. It never triggers auto_recovery.
func (e *Engine) stopped(c *ctr, code int) {
	e.logf(LevelInfo, "container %s stopped (code %d)", c.c.Name, code)
	if c.reinstall {
		e.reinstallNow(c)
		return
	}
	c.status = Stopped
}
