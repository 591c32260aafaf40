package cgroup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pantavisor/lib/printf"
)

// killTimeout bounds Kill when ctx has no earlier deadline.
const killTimeout = 10 * time.Second

// Kill kills every process of the group, sub-groups included, and returns
// once none is left:
//  1. with a cgroup2 cgroup.kill file (Linux 5.14): write 1 and wait;
//  2. otherwise, or for what is left: rounds of freeze (cgroup.freeze,
//     else the v1 freezer), SIGKILL every pid of Procs, thaw, wait a bit.
//
// Freezing first stops a fork loop from outrunning the kills. It gives up
// with ErrKillTimeout, naming the survivors, when ctx is done or after
// killTimeout. The group stays in place: Remove it afterwards.
func (g *Group) Kill(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, killTimeout)
	defer cancel()
	if g.unified != "" {
		err := writeFile(filepath.Join(g.unified, "cgroup.kill"), "1")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return printf.Errorf("kill cgroup %s: %w", g.Name, err)
		}
		if err == nil {
			if left, err := g.waitEmpty(ctx, time.Second); err != nil || len(left) == 0 {
				return err
			}
		}
	}
	return g.killByFreezing(ctx)
}

// killByFreezing is step 2 of Kill.
func (g *Group) killByFreezing(ctx context.Context) error {
	for {
		pids, err := g.Procs()
		if err != nil || len(pids) == 0 {
			return err
		}
		if ctx.Err() != nil {
			return printf.Errorf("kill cgroup %s: %w: pids %v", g.Name, ErrKillTimeout, pids)
		}
		thaw, err := g.freeze(ctx)
		if err != nil {
			return printf.Errorf("kill cgroup %s: %w", g.Name, err)
		}
		var errs []error
		for _, p := range pids {
			errs = append(errs, kill(p))
		}
		errs = append(errs, thaw())
		if err := errors.Join(errs...); err != nil {
			return printf.Errorf("kill cgroup %s: %w", g.Name, err)
		}
		if _, err := g.waitEmpty(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitEmpty polls Procs until the group is empty, for at most d or until
// ctx is done, and returns what is left.
func (g *Group) waitEmpty(ctx context.Context, d time.Duration) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		pids, err := g.Procs()
		if err != nil || len(pids) == 0 {
			return pids, err
		}
		select {
		case <-ctx.Done():
			return pids, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// freeze freezes the group with cgroup.freeze, else with the v1 freezer,
// else not at all, waits (bounded) until it is frozen, and returns the
// function that thaws it. A group that does not report frozen in time is
// killed anyway: the freeze only narrows fork races.
func (g *Group) freeze(ctx context.Context) (thaw func() error, err error) {
	if g.unified != "" {
		file := filepath.Join(g.unified, "cgroup.freeze")
		err := writeFile(file, "1")
		if err == nil {
			pollUntil(ctx, filepath.Join(g.unified, "cgroup.events"), "frozen 1")
			return func() error { return writeFile(file, "0") }, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if dir, ok := g.Dir("freezer"); ok {
		file := filepath.Join(dir, "freezer.state")
		if err := writeFile(file, "FROZEN"); err != nil {
			return nil, err
		}
		pollUntil(ctx, file, "FROZEN")
		return func() error { return writeFile(file, "THAWED") }, nil
	}
	return func() error { return nil }, nil
}

// pollUntil waits up to a second for file to contain a line equal to want.
func pollUntil(ctx context.Context, file, want string) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for {
		s, err := readFile(file)
		if err != nil {
			return
		}
		for _, l := range strings.Split(s, "\n") {
			if strings.TrimSpace(l) == want {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}
