package engine

import (
	"time"

	"pantavisor/lib/state"
)

// publish refreshes the view (containers, groups, revision status) under
// one lock, so readers always see one consistent step, and reports a
// revision status change.
func (e *Engine) publish() {
	now := e.o.Now()
	view := make([]ContainerStatus, len(e.cs))
	for i, c := range e.cs {
		view[i] = e.containerStatus(c)
	}
	groups := make([]GroupStatus, len(e.st.Device.Groups))
	var rev floor
	for i := range e.st.Device.Groups {
		groups[i] = e.groupStatus(i, now)
		if groups[i].Status != Ready {
			rev.add(groups[i].Status)
		}
	}
	e.mu.Lock()
	e.view, e.groups, e.transitioning = view, groups, e.trans != nil
	changed := rev.status() != e.status
	e.status = rev.status()
	e.mu.Unlock()
	if changed && e.o.OnStatus != nil {
		e.o.OnStatus(rev.status())
	}
}

func (e *Engine) containerStatus(c *ctr) ContainerStatus {
	return ContainerStatus{Name: c.c.Name, Group: c.c.Group, Goal: c.c.StatusGoal, Status: c.status,
		RestartPolicy: c.c.RestartPolicy, Roles: c.c.Roles, AutoRecovery: recovery(c.c.AutoRecovery),
		Retries: c.retries, Restarts: c.restarts, Stable: c.stable, UserStopped: c.userStopped}
}

// groupStatus reports group i (state order): the lowest status of its
// members that have not reached their goal, READY when all have or when
// it has none (upstream pv_group_check_goals: an empty group's goal is
// reached).
func (e *Engine) groupStatus(i int, now time.Time) GroupStatus {
	g := &e.st.Device.Groups[i]
	var low floor
	for _, c := range e.cs {
		if c.groupIndex == i && e.goal(c, now) != Achieved {
			low.add(c.status)
		}
	}
	return GroupStatus{Name: g.Name, Goal: g.StatusGoal, RestartPolicy: g.RestartPolicy, Status: low.status(),
		Timeout: g.Timeout, AutoRecovery: recovery(g.AutoRecovery)}
}

// recovery is ar as reported: nil when absent or policy "no".
func recovery(ar *state.AutoRecovery) *state.AutoRecovery {
	if ar == nil || ar.Policy == "no" {
		return nil
	}
	return ar
}

// floor is the lowest of the statuses added, READY when none was: a
// group's status over its unfinished members, the revision's over its
// unfinished groups. (A member RECOVERING or STOPPED therefore keeps the
// revision from READY: its status counts as it is.)
type floor struct {
	s   Status
	any bool
}

func (f *floor) add(s Status) {
	if !f.any || s < f.s {
		f.s, f.any = s, true
	}
}

func (f floor) status() Status {
	if !f.any {
		return Ready
	}
	return f.s
}
