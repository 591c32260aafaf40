package hub

import (
	"context"
	"path/filepath"
	"strconv"
	"time"

	"pantavisor/lib/http1"
	"pantavisor/lib/hub/proto"
)

// AutoTokenHeader carries PH_FACTORY_AUTOTOK at registration.
const AutoTokenHeader = "Pantahub-Devices-Auto-Token-V1"

// loadCreds reads the credentials file once; a file that cannot be read
// or parsed stops the agent with a log line each step (registering anew
// would replace an identity that may still be valid).
func (a *Agent) loadCreds() bool {
	c, err := proto.ReadCredsFile(a.o.CredsFile)
	if err == nil {
		err = c.Check()
	}
	if err != nil {
		a.logf("hub: %v", err)
		return false
	}
	if c.ID != "" && (c.PRN == "" || c.Secret == "") {
		a.logf("hub: credentials of device %s lack prn or secret: registering again", c.ID)
		c = proto.Creds{}
	}
	a.creds, a.loaded = c, true
	if c.ID != "" {
		a.writeHint(HintDeviceID, c.ID)
	}
	a.writeHint(HintHost, "https://"+a.address())
	return true
}

// due reports whether the request timer t has come; it then sets t to
// now+every.
func due(t *time.Time, now time.Time, every time.Duration) bool {
	if now.Before(*t) {
		return false
	}
	*t = now.Add(every)
	return true
}

// register runs POST /devices/ (every ReqInterval until it works) and
// saves the new identity durably before using it.
func (a *Agent) register(ctx context.Context, now time.Time) {
	a.setName(StateRegister)
	if !due(&a.next, now, ReqInterval) {
		return
	}
	var h http1.Header
	if a.o.AutoToken != "" {
		h.Set(AutoTokenHeader, a.o.AutoToken)
	}
	_, body, err := a.request(ctx, false, "POST", proto.RegisterPath, []byte("{}"), h)
	if err != nil {
		a.logf("hub: registering: %v", err)
		return
	}
	d, err := proto.ParseRegister(body)
	if err != nil {
		a.logf("hub: registering: %v", err)
		return
	}
	c := proto.Creds{ID: d.ID, PRN: d.PRN, Secret: d.Secret}
	if err := proto.WriteCredsFile(a.o.Writer, a.o.CredsFile, c); err != nil {
		a.logf("hub: registering: %v", err)
		return
	}
	a.creds = c
	a.logf("hub: registered as device %s", d.ID)
	a.writeHint(HintDeviceID, d.ID)
	a.next = now // check the claim at once
}

// checkClaim logs in and reads the device record every
// UpdaterInterval. Unclaimed: the challenge goes to its hint file and
// State. Claimed: the token is dropped, since one taken before the claim
// has no owner and the hub refuses it for trails, objects and logs.
func (a *Agent) checkClaim(ctx context.Context, now time.Time) {
	a.setName(StateClaim)
	if !due(&a.next, now, a.o.UpdaterInterval) {
		return
	}
	if a.token == "" && !a.doLogin(ctx) {
		return
	}
	_, body, err := a.request(ctx, true, "GET", proto.DevicePath(a.creds.ID), nil, nil)
	if err != nil {
		a.logf("hub: checking claim: %v", err)
		return
	}
	d, err := proto.ParseDevice(body)
	if err != nil {
		a.logf("hub: checking claim: %v", err)
		return
	}
	if d.Owner == "" {
		if d.Challenge != a.challenge {
			a.logf("hub: device %s unclaimed, challenge %q", a.creds.ID, d.Challenge)
			a.writeHint(HintChallenge, d.Challenge)
		}
		a.challenge = d.Challenge
		return
	}
	a.logf("hub: device %s claimed", a.creds.ID)
	a.claimed, a.challenge, a.token, a.next = true, "", "", now
	a.writeHint(HintChallenge, "")
}

// login runs POST /auth/login every ReqInterval until it gets a token.
func (a *Agent) login(ctx context.Context, now time.Time) {
	a.setName(StateLogin)
	if !due(&a.next, now, ReqInterval) {
		return
	}
	if a.doLogin(ctx) {
		a.next = now
	}
}

// doLogin logs in with the credentials; errors never show the secret.
func (a *Agent) doLogin(ctx context.Context) bool {
	body := proto.AppendLogin(nil, a.creds.PRN, a.creds.Secret)
	_, data, err := a.request(ctx, false, "POST", proto.LoginPath, body, nil)
	if err != nil {
		a.logf("hub: logging in: %v", err)
		return false
	}
	tok, err := proto.ParseToken(data)
	if err != nil {
		a.logf("hub: logging in: %v", err)
		return false
	}
	a.token = tok
	return true
}

// writeHint writes a hint file in PVDir (none when PVDir is "").
func (a *Agent) writeHint(name, value string) {
	if a.o.PVDir == "" {
		return
	}
	if err := a.o.Writer.WriteFile(filepath.Join(a.o.PVDir, name), []byte(value), 0o644); err != nil {
		a.logf("hub: hint %s: %v", name, err)
	}
}

// revName is the local revision name of hub step rev.
func revName(rev int) string { return strconv.Itoa(rev) }
