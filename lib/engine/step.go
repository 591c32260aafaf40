package engine

import (
	"math"
	"strconv"
	"sync"
	"time"

	"pantavisor/lib/state"
)

// ctr is the engine's record of one container.
type ctr struct {
	c          *state.Container
	group      *state.Group
	groupIndex int
	order      int
	status     Status
	unit       Unit
	startedAt  time.Time // last start (or mount)
	deadline   time.Time // goal must be reached by then
	goalAt     time.Time // when the goal was first reached; zero if not yet
	timedOut   bool
	stable     bool
	retries    int
	restarts   int
	nextTry    time.Time // while Recovering
	gen        int       // counts starts, to match exits to them
	resetAt    time.Time // backoff_policy duration: retries reset then

	dropping    bool          // replaced or removed by the transition under way: no restart, no timeout
	userStopped bool          // stopped through Control: goal counts as reached, no recovery
	reinstall   bool          // a requested stop is under way: reinstall once it exited
	stopDone    chan struct{} // closed when a requested stop's Unit.Stop returned
}

// step is one pass of the main loop at time now. Steps: handle exits,
// swap in the next state once a transition's containers stopped, bring
// recovering containers back, start what the group rule allows, check
// goals and timeouts, publish the status. It returns non-nil when the
// revision failed.
func (e *Engine) step(now time.Time) *Outcome {
	for _, ex := range e.drainExits() {
		if out := e.onExit(ex, now); out != nil {
			return out
		}
	}
	e.swapWhenStopped()
	for _, c := range e.cs {
		if c.status == Recovering && !now.Before(c.nextTry) {
			c.status = Installed
		}
		if !c.resetAt.IsZero() && !now.Before(c.resetAt) {
			c.retries, c.resetAt = 0, time.Time{}
		}
	}
	// Goals before starting (a timeout unblocks the next group now) and
	// after (stamp the goals just reached).
	if out := e.checkGoals(now); out != nil {
		return out
	}
	if out := e.startReady(now); out != nil {
		return out
	}
	if out := e.checkGoals(now); out != nil {
		return out
	}
	e.publish()
	return nil
}

func (e *Engine) drainExits() []exited {
	out := e.pending
	e.pending = nil
	for {
		select {
		case ex := <-e.exits:
			out = append(out, ex)
		default:
			return out
		}
	}
}

// startReady starts (or mounts) every installed container whose earlier
// groups are all done, in state order; the others wait as BLOCKED. It
// passes again while a pass started something, so a group that reached
// its goal at once (MOUNTED, STARTED) unblocks the next in the same step.
// Then a Preparer runner prepares every container left blocked, so it
// gets ready while the earlier groups come up; at every step, so that a
// runner keeping few prepared at once takes the next when one started (a
// container started at once needs none: its start overlaps its own stage
// start with its steps).
func (e *Engine) startReady(now time.Time) *Outcome {
	for started := true; started; {
		started = false
		for _, c := range e.cs {
			if (c.status != Installed && c.status != Blocked) || c.dropping {
				continue
			}
			if !e.earlierGroupsDone(c, now) {
				c.status = Blocked
				continue
			}
			if out := e.start(c, now); out != nil {
				return out
			}
			started = true
		}
	}
	for _, c := range e.cs {
		if c.status == Blocked && !c.dropping {
			e.prepare(c)
		}
	}
	return nil
}

// prepare tells a Preparer runner that container c is going to start.
func (e *Engine) prepare(c *ctr) {
	if p, ok := e.runner.(Preparer); ok && c.c.StatusGoal != state.GoalMounted {
		p.Prepare(c.c.Name)
	}
}

// earlierGroupsDone: every member of every group before c's reached its
// goal or timed out (upstream's start rule).
func (e *Engine) earlierGroupsDone(c *ctr, now time.Time) bool {
	for _, o := range e.cs {
		if o.groupIndex < c.groupIndex && e.goal(o, now) == Unachieved {
			return false
		}
	}
	return true
}

func (e *Engine) start(c *ctr, now time.Time) *Outcome {
	mountOnly := c.c.StatusGoal == state.GoalMounted
	c.status = Starting
	var u Unit
	var err error
	if mountOnly {
		u, err = e.runner.Mount(c.c.Name)
	} else {
		u, err = e.runner.Start(c.c.Name)
	}
	c.startedAt, c.goalAt, c.timedOut, c.stable = now, time.Time{}, false, false
	c.deadline = now.Add(time.Duration(c.group.Timeout) * time.Second)
	if err != nil {
		e.logf(LevelError, "container %s could not be started: %v", c.c.Name, err)
		c.status = Stopped
		return e.recover(c, now, "could not be started")
	}
	c.unit = u
	c.gen++
	gen := c.gen
	if mountOnly {
		c.status = Mounted
		e.logf(LevelInfo, "container %s mounted (group %s)", c.c.Name, c.c.Group)
		return nil
	}
	c.status = Started
	e.logf(LevelInfo, "container %s started (group %s)", c.c.Name, c.c.Group)
	go func() { e.exits <- exited{c: c, u: u, gen: gen, code: u.Wait()} }()
	return nil
}

// goal is upstream's goal check: achieved when the status reached the
// goal, timed out when the group timeout passed first. A user-stopped
// container counts as achieved (upstream sets its goal to STOPPED), so it
// neither blocks later groups nor keeps the revision from READY.
func (e *Engine) goal(c *ctr, now time.Time) GoalCheck {
	if c.userStopped {
		return Achieved
	}
	want := goalStatus(c.c.StatusGoal)
	if c.status == want || (want == Started && c.status == Ready) {
		return Achieved
	}
	if c.timedOut {
		return TimedOut
	}
	return Unachieved
}

// checkGoals marks reached goals (arming stability) and timeouts. A
// timeout only unblocks the next group, except while the revision is
// being tried: then it is a rollback. A container a transition is
// dropping never times out.
func (e *Engine) checkGoals(now time.Time) *Outcome {
	for _, c := range e.cs {
		switch e.goal(c, now) {
		case Achieved:
			if c.goalAt.IsZero() {
				c.goalAt = now
			}
			st := 0
			if c.c.AutoRecovery != nil {
				st = c.c.AutoRecovery.StableTimeout
			}
			c.stable = now.Sub(c.goalAt) >= time.Duration(st)*time.Second
		case Unachieved:
			if c.dropping || c.status < Starting || c.status == Recovering || c.status == Stopping || c.deadline.IsZero() || now.Before(c.deadline) {
				continue
			}
			c.timedOut = true
			e.logf(LevelWarn, "container %s did not reach %s within %ds", c.c.Name, c.c.StatusGoal, c.group.Timeout)
			if e.o.Updating {
				return Failure(GoalTimeout, "container "+c.c.Name+" did not reach "+c.c.StatusGoal+" within "+strconv.Itoa(c.group.Timeout)+"s")
			}
		}
	}
	return nil
}

// onExit handles a container init that ended.
func (e *Engine) onExit(ex exited, now time.Time) *Outcome {
	c := ex.c
	if c.unit == nil || c.gen != ex.gen {
		return nil // an earlier incarnation, already handled
	}
	c.unit = nil
	if c.stopDone != nil { // a requested stop: let its Stop return first
		<-c.stopDone
		c.stopDone = nil
	}
	e.closeUnit(c, ex.u)
	if c.status == Stopping {
		e.stopped(c, ex.code)
		return nil
	}
	c.status = Stopped
	e.logf(LevelWarn, "container %s exited with code %d", c.c.Name, ex.code)
	return e.recover(c, now, "exited")
}

// recover applies auto_recovery after a failure (reference §4.3): no
// policy ⇒ the revision fails; always/on-failure ⇒ restart
// after retry_delay × backoff_factor^(n-1), until max_retries; then
// backoff_policy: reboot (the revision fails), never (stay stopped) or a
// pause after which the count resets; under test, exhausted retries fail
// the revision whatever the policy. reset_window resets the count of a
// container that ran longer than it.
func (e *Engine) recover(c *ctr, now time.Time, what string) *Outcome {
	ar := c.c.AutoRecovery
	if ar == nil || (ar.Policy != "always" && ar.Policy != "on-failure") {
		return Failure(ContainerFailed, "container "+c.c.Name+" "+what+" and has no auto_recovery policy")
	}
	if ar.ResetWindow > 0 && now.Sub(c.startedAt) > time.Duration(ar.ResetWindow)*time.Second {
		c.retries = 0
	}
	if ar.MaxRetries > 0 && c.retries >= ar.MaxRetries {
		if e.o.Updating {
			return Failure(ContainerFailed, "container "+c.c.Name+" exhausted its retries")
		}
		switch ar.BackoffPolicy {
		case "reboot":
			return Failure(ContainerFailed, "container "+c.c.Name+" exhausted its "+strconv.Itoa(ar.MaxRetries)+" retries")
		case "never":
			e.logf(LevelWarn, "container %s exhausted its retries: staying stopped", c.c.Name)
			return nil
		}
		pause, _ := state.ParseDuration(ar.BackoffPolicy)
		c.resetAt = now.Add(time.Duration(pause) * time.Second)
		c.status, c.nextTry = Recovering, c.resetAt
		e.logf(LevelWarn, "container %s exhausted its retries: pausing %ds", c.c.Name, pause)
		return nil
	}
	c.retries++
	c.restarts++
	delay := float64(ar.RetryDelay) * math.Pow(ar.BackoffFactor, float64(c.retries-1))
	c.status, c.nextTry = Recovering, now.Add(time.Duration(delay*float64(time.Second)))
	e.logf(LevelInfo, "container %s %s: restart %d in %.1fs (policy %s)", c.c.Name, what, c.retries, delay, ar.Policy)
	e.prepare(c)
	return nil
}

// stopAll stops every container at once (lenient stop, SIGKILL after
// StopTimeout) and unmounts everything. A container already stopping on
// request is not stopped twice: its Stop is awaited, then it is closed.
func (e *Engine) stopAll() {
	var wg sync.WaitGroup
	for _, c := range e.cs {
		if c.unit == nil {
			continue
		}
		c.status = Stopping
		wg.Add(1)
		go func(u Unit, stopping chan struct{}, name string) {
			defer wg.Done()
			if stopping != nil {
				<-stopping
			} else if _, err := u.Stop(e.o.StopTimeout); err != nil {
				e.logf(LevelWarn, "container %s: stop: %v", name, err)
			}
			if err := u.Close(); err != nil {
				e.logf(LevelWarn, "container %s: %v", name, err)
			}
		}(c.unit, c.stopDone, c.c.Name)
		c.unit, c.stopDone, c.reinstall = nil, nil, false
	}
	wg.Wait()
	for _, c := range e.cs {
		if c.status == Stopping {
			c.status = Stopped
		}
	}
	e.publish()
}

// closeUnit cleans up after a unit whose init ended; what it could not
// undo (a busy mount, a cgroup with processes) is logged.
func (e *Engine) closeUnit(c *ctr, u Unit) {
	if err := u.Close(); err != nil {
		e.logf(LevelWarn, "container %s: %v", c.c.Name, err)
	}
}
