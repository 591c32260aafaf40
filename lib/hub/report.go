package hub

import (
	"context"

	"pantavisor/lib/hub/proto"
	"pantavisor/lib/progress"
)

// put sends progress p of step rev now (PUT …/progress), after the
// report waiting, if any: one PUT at a time, in order. A failure is
// logged and not retried. A final status of the step under way ends it.
func (a *Agent) put(ctx context.Context, rev int, p progress.Progress) {
	a.flushReport(ctx)
	a.sendProgress(ctx, rev, p)
}

// flushReport sends the report Report queued, if any. Without a session
// it waits (upstream drops it; the local final status is sent again
// anyway).
func (a *Agent) flushReport(ctx context.Context) {
	if a.token == "" || !a.synced {
		return
	}
	a.mu.Lock()
	r := a.pending
	a.pending = nil
	a.sending = r != nil
	a.mu.Unlock()
	if r == nil {
		return
	}
	a.sendProgress(ctx, r.rev, r.p)
	a.mu.Lock()
	a.sending = false
	close(a.drained)
	a.drained = make(chan struct{})
	a.mu.Unlock()
}

// Drain waits, while Run runs, until the progress reports queued by
// Report have been sent (or failed), or ctx ends. The device calls it
// before it stops the agent for a reboot, so the hub sees the status that
// announced the reboot (INPROGRESS "Rebooting"), as upstream blocks a
// reboot while its progress queue is not empty. It returns at once while
// the agent is offline or has no session.
func (a *Agent) Drain(ctx context.Context) {
	for {
		a.mu.Lock()
		// Nothing queued or being sent, or nothing that can be sent now:
		// offline, or no session yet (the report waits for the hub, which
		// a shutdown cannot).
		done := (a.pending == nil || !a.session) && !a.sending || !a.view.Online
		ch := a.drained
		a.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// sendProgress PUTs p for rev and ends the update under way on its final
// status.
func (a *Agent) sendProgress(ctx context.Context, rev int, p progress.Progress) {
	if a.upd != nil && a.upd.rev == rev && progress.Final(p.Status) {
		a.endUpdate()
	}
	body := proto.AppendProgress(nil, p)
	if _, _, err := a.request(ctx, true, "PUT", proto.ProgressPath(a.creds.ID, int64(rev)), body, nil); err != nil {
		a.logf("hub: step %d: progress %s: %v", rev, p.Status, err)
	}
}

// endUpdate forgets the update under way: the client is idle again.
func (a *Agent) endUpdate() {
	a.upd = nil
	a.setName(StateIdle)
}
