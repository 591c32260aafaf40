package engine

import (
	"context"
	"errors"
	"slices"
	"strings"

	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// ErrBusy is Transition's answer while another transition is under way.
var ErrBusy error = &sentinel.Error{Text: "a transition is already in progress"}

// transition is a non-reboot move to the next state, accepted and
// waiting for the containers it replaces or removes to stop.
type transition struct {
	next   *state.State
	runner Runner
}

// Transition moves the running revision to next without a reboot
// (reference §3.4); changed names the containers to restart (Changes). It
// returns once the loop accepted the move (nil, ErrBusy while another is
// under way, or ctx's error); the rest completes asynchronously, and
// Transitioning reports it. Steps:
//  1. at once: Updating is switched on, so failures roll back from now;
//     every container of changed, and every one next lacks, is stopped
//     (leniently, SIGKILL after StopTimeout) without being marked
//     user-stopped and without auto_recovery when it exits;
//  2. once they all exited: the state becomes next and the runner r (nil:
//     keep the current one); the stopped containers are dropped; next's
//     other containers keep their unit, status and counters; its new or
//     changed ones are added, INSTALLED, in next's order, and the next
//     steps start them by the group rule.
func (e *Engine) Transition(ctx context.Context, next *state.State, r Runner, changed []string) error {
	if next == nil {
		return errors.New("transition: no next state")
	}
	return e.send(ctx, event{apply: func() error { return e.begin(next, r, changed) }})
}

// Transitioning reports whether a transition is accepted and its swap to
// the next state not yet done.
func (e *Engine) Transitioning() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.transitioning
}

// SetUpdating switches rollback on failure on (the revision is being
// tried) or off (it was committed), through the loop.
func (e *Engine) SetUpdating(ctx context.Context, on bool) error {
	return e.send(ctx, event{apply: func() error {
		e.o.Updating = on
		return nil
	}})
}

// GoalsReached reports whether every container reached its goal (the
// revision status is READY) and no transition is under way: the signal
// that ends a try's wait for goals. Its commit then waits until every
// ContainerStatus (Containers) is Stable.
func (e *Engine) GoalsReached() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.transitioning && e.status == Ready
}

// begin is step 1 of Transition, in the loop.
func (e *Engine) begin(next *state.State, r Runner, changed []string) error {
	if e.trans != nil {
		return ErrBusy
	}
	if r == nil {
		r = e.runner
	}
	e.trans = &transition{next: next, runner: r}
	e.o.Updating = true
	var names []string
	for _, c := range e.cs {
		if slices.Contains(changed, c.c.Name) || next.Container(c.c.Name) == nil {
			c.dropping, c.reinstall = true, false
			e.halt(c)
			names = append(names, c.c.Name)
		}
	}
	e.logf(LevelInfo, "transition: stopping [%s]", strings.Join(names, " "))
	return nil
}

// swapWhenStopped is step 2 of Transition, once every dropped container
// exited (its exit handled, its unit closed).
func (e *Engine) swapWhenStopped() {
	if e.trans == nil {
		return
	}
	for _, c := range e.cs {
		if c.dropping && (c.unit != nil || c.status == Stopping) {
			return
		}
	}
	next, old := e.trans.next, e.cs
	e.cs = make([]*ctr, 0, len(next.Containers))
	for i, sc := range next.Containers {
		c := kept(old, sc.Name)
		if c == nil {
			c = newCtr(next, sc, i)
		} else {
			c.link(next, sc, i)
		}
		e.cs = append(e.cs, c)
	}
	e.st, e.runner, e.trans = next, e.trans.runner, nil
	e.logf(LevelInfo, "transition: now running the next state (%d container(s))", len(e.cs))
}

// kept returns the container called name that a transition keeps running.
func kept(cs []*ctr, name string) *ctr {
	for _, c := range cs {
		if c.c.Name == name && !c.dropping {
			return c
		}
	}
	return nil
}
