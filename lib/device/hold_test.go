package device

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"pantavisor/lib/engine"
	"pantavisor/lib/update"
)

// holdObs is a Holder whose HoldEnd waits for the test.
type holdObs struct {
	nopObserver
	held     chan engine.Outcome
	release  chan struct{}
	deferred chan time.Duration
}

func (h *holdObs) HoldEnd(o engine.Outcome) { h.held <- o; <-h.release }
func (h *holdObs) DeferEnd(d time.Duration) { h.deferred <- d }

// TestEndWaitsForHolder: with a Holder the first end is cancelled only
// once HoldEnd returns, a second end neither holds nor cancels, and the
// outcome is the first; without one the end cancels at once.
func TestEndWaitsForHolder(t *testing.T) {
	h := &holdObs{held: make(chan engine.Outcome, 2), release: make(chan struct{}), deferred: make(chan time.Duration, 1)}
	cancelled := make(chan struct{})
	c := &control{d: &Device{obs: h}, cancel: func() { close(cancelled) }}
	first := engine.Outcome{Action: engine.Reboot, Reason: "reboot requested: "}
	c.end(first)
	assert.Equal(t, first, <-h.held)
	c.end(engine.Outcome{Action: engine.PowerOff, Reason: "poweroff requested: "})
	select {
	case <-cancelled:
		t.Fatal("cancelled while the holder holds")
	case <-time.After(20 * time.Millisecond):
	}
	assert.Empty(t, h.held, "one hold")
	close(h.release)
	<-cancelled
	assert.Equal(t, first, *c.outcome)

	n := 0
	plain := &control{d: &Device{obs: nopObserver{}}, cancel: func() { n++ }}
	plain.end(first)
	assert.Equal(t, 1, n, "no holder: cancelled at once")
}

// TestDeferEnd: DEFER_REBOOT's payload is seconds for the holder; a bad
// one, or no holder, is only logged; "" is ignored.
func TestDeferEnd(t *testing.T) {
	var console bytes.Buffer
	h := &holdObs{deferred: make(chan time.Duration, 1)}
	d := &Device{obs: h, o: Options{Console: &console}, u: &update.Updater{}}
	d.deferEnd("90")
	assert.Equal(t, 90*time.Second, <-h.deferred)
	d.deferEnd("soon")
	assert.Contains(t, console.String(), `command DEFER_REBOOT: bad timeout "soon": want seconds`)
	d.deferEnd("")
	assert.Empty(t, h.deferred)
	plain := &Device{obs: nopObserver{}, o: Options{Console: &console}, u: &update.Updater{}}
	plain.deferEnd("90")
	assert.Contains(t, console.String(), "command DEFER_REBOOT 90: no debug shell: ignoring")
}
