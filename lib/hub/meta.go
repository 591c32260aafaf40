package hub

import (
	"context"
	"maps"
	"time"

	"pantavisor/lib/hub/proto"
)

// stepMeta runs the metadata timers while the hub is online (upstream):
// device-meta PUT every DevMetaInterval when it changed, user-meta GET
// every UserMetaInterval, applied with full-state semantics. PushMeta
// makes the device-meta PUT due now.
func (a *Agent) stepMeta(ctx context.Context, now time.Time) {
	if a.metaNow.Swap(false) {
		a.nextDev = time.Time{}
	}
	if a.online && due(&a.nextDev, now, a.o.DevMetaInterval) {
		a.putDeviceMeta(ctx)
	}
	if a.online && due(&a.nextUsr, now, a.o.UserMetaInterval) {
		a.getUserMeta(ctx)
	}
}

// The device-meta keys the agent adds.
const (
	KeyState   = "pantahub.state"
	KeyOnline  = "pantahub.online"
	KeyClaimed = "pantahub.claimed"
	KeyAddress = "pantahub.address"
)

// deviceMeta is the device's meta plus the agent's pantahub.* keys.
func (a *Agent) deviceMeta() map[string]string {
	m := maps.Clone(a.dev.DeviceMeta())
	if m == nil {
		m = map[string]string{}
	}
	m[KeyState] = a.name
	m[KeyOnline] = flag(a.online)
	m[KeyClaimed] = flag(a.claimed)
	m[KeyAddress] = a.address()
	return m
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// putDeviceMeta PUTs the device-meta when it differs from the last
// accepted one.
func (a *Agent) putDeviceMeta(ctx context.Context) {
	m := a.deviceMeta()
	if !proto.DeviceMetaChanged(a.sentMeta, m) {
		return
	}
	body := proto.AppendDeviceMeta(nil, m)
	if _, _, err := a.request(ctx, true, "PUT", proto.DeviceMetaPath(a.creds.ID), body, nil); err != nil {
		a.logf("hub: device-meta: %v", err)
		return
	}
	a.sentMeta = m
}

// getUserMeta reads the hub's user-meta and applies the difference.
func (a *Agent) getUserMeta(ctx context.Context) {
	_, body, err := a.request(ctx, true, "GET", proto.UserMetaPath(a.creds.ID), nil, nil)
	if err != nil {
		a.logf("hub: user-meta: %v", err)
		return
	}
	hub, err := proto.ParseUserMeta(body)
	if err != nil {
		a.logf("hub: user-meta: %v", err)
		return
	}
	set, del, err := proto.UserMetaDiff(a.dev.UserMeta(), hub)
	if msg := errText(err); msg != a.metaErr { // once, not every interval
		a.metaErr = msg
		if err != nil {
			a.logf("hub: user-meta: %v", err)
		}
	}
	if len(set) == 0 && len(del) == 0 {
		return
	}
	if err := a.dev.ApplyUserMeta(set, del); err != nil {
		a.logf("hub: user-meta: %v", err)
	}
}

// errText is err's text, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
