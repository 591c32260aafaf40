package hub

import (
	"time"

	"pantavisor/lib/hub/proto"
)

// Unclaim drops the device's identity, as upstream's pv-ctrl UNCLAIM
// (clear creds id, prn and secret, save them, forget the claim): the
// agent then registers again as a new device and waits for a claim (the
// challenge hint and pantahub.state "claim"), then syncs its running
// revision to the new owner. The device record stays on the hub. It
// never blocks: the Run goroutine acts at its next step, once no
// download runs (pv-ctrl refuses UNCLAIM while an update is under way).
func (a *Agent) Unclaim() {
	a.unclaimed.Store(true)
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// maybeUnclaim carries out an Unclaim: the empty credentials saved
// durably first (a failure is logged and tried again at the next step),
// then the session, the claim, the sync and a step not handed to the
// device dropped, and the device-id hint emptied.
func (a *Agent) maybeUnclaim(now time.Time) {
	if !a.unclaimed.Load() || (a.upd != nil && a.upd.running) {
		return
	}
	if err := proto.WriteCredsFile(a.o.Writer, a.o.CredsFile, proto.Creds{}); err != nil {
		a.logf("hub: unclaiming: %v", err)
		return
	}
	a.unclaimed.Store(false)
	a.logf("hub: device %s unclaimed: registering again", a.creds.ID)
	a.creds, a.token, a.claimed, a.challenge, a.synced = proto.Creds{}, "", false, "", false
	a.upd, a.sentMeta, a.next = nil, nil, now
	a.writeHint(HintDeviceID, "")
}
