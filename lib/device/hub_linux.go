//go:build !nohub

package device

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/hub"
	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/meta"
	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
	"pantavisor/lib/update"
)

// HubOptions configure the device's hub client (lib/hub's Options;
// Storage, Writer and Log are the device's, set when it starts).
type HubOptions = hub.Options

// CredsFile is where the hub identity lives, under the storage
// (upstream's /storage/config/pantahub.config).
const CredsFile = "config/pantahub.config"

// hubOptions reads the hub client's configuration, after loading the
// credentials file as the PH_CONF level (upstream: its creds.* and other
// PH keys, such as creds.host; a line refused is a warning on console):
// the hub's address, proxy, CA (PV_LIBTHTTP_CERTSDIR; PH_CREDS_INSECURE,
// ours, skips the check), request timeout, the factory auto-token, the
// timers, the retry limits and the User-Agent of machine, this build's
// version and date.
func hubOptions(cfg *config.Config, p config.Paths, machine string, console io.Writer) *HubOptions {
	creds := filepath.Join(p.Storage, CredsFile)
	warns, err := cfg.LoadFile(config.LevelPHConf, creds)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		warns = append(warns, config.Warning{Level: config.LevelPHConf, Err: err})
	}
	for _, w := range warns {
		if console != nil {
			printf.Fprintf(console, "pantavisor: config: %v\n", w)
		}
	}
	c := hubhttp.Client{
		Host: cfg.Get(config.PHCredsHost).String(), Port: cfg.Get(config.PHCredsPort).Int(),
		CAFile: cfg.Get(config.LibthttpCertsdir).String(), Insecure: cfg.Get(config.PHCredsInsecure).Bool(),
		ProxyHost: cfg.Get(config.PHCredsProxyHost).String(), ProxyPort: cfg.Get(config.PHCredsProxyPort).Int(),
		NoProxyConnect: cfg.Get(config.PHCredsProxyNoproxyconnect).Int() != 0,
		Timeout:        cfg.Get(config.PHLibeventHTTPTimeout).Duration(),
		UserAgent:      hubhttp.UserAgent(machine, buildinfo.Version, buildinfo.Date),
	}
	return &hub.Options{Client: c, AutoToken: cfg.Get(config.PHFactoryAutotok).String(),
		CredsFile: creds, PVDir: p.RunDir,
		UpdaterInterval:  cfg.Get(config.PHUpdaterInterval).Duration(),
		DevMetaInterval:  cfg.Get(config.PHMetadataDevmetaInterval).Duration(),
		UserMetaInterval: cfg.Get(config.PHMetadataUsrmetaInterval).Duration(),
		TransferMax:      cfg.Get(config.PHUpdaterTransferMaxCount).Int(),
		Retries:          cfg.Get(config.RevisionRetries).Int(),
		OnlineThreshold:  cfg.Get(config.PHOnlineRequestThreshold).Int()}
}

// hubLink is the running hub client.
type hubLink struct {
	mu      sync.Mutex
	agent   *hub.Agent
	ctx     context.Context // the agent's: ends at stopHub only
	cancel  context.CancelFunc
	done    chan struct{} // closed when the agent's Run returned
	stopped bool

	shown map[string]string // pantahub.* as published in device-meta (engine loop only)
}

// hubStarted reports whether the hub client was started.
func (d *Device) hubStarted() bool {
	l := &d.remote.hub
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agent != nil
}

// startHub starts the hub client once, for the revision (stopHub ends
// it); it never waits for the hub.
func (d *Device) startHub() {
	l := &d.remote.hub
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.agent != nil || l.stopped || d.ctx == nil {
		return
	}
	o := *d.o.Hub
	o.Storage, o.Writer, o.Log = d.st, d.st.W, hubLogger{d}
	if !o.Client.Insecure && o.Client.Roots == nil {
		// Read the CA once, not at every request; a bad CA stays the
		// error of every request (logged by the agent).
		if roots, err := hubhttp.LoadCA(o.Client.CAFile); err == nil {
			o.Client.Roots = roots
		}
	}
	l.agent = hub.New(o, hubDevice{d})
	// Not cancelled with the revision's context (ended as soon as the
	// device decides to reboot): stopHub ends it, after Drain.
	l.ctx, l.cancel = context.WithCancel(context.WithoutCancel(d.ctx))
	l.done = make(chan struct{})
	d.log(engine.LevelInfo, "hub: client started for "+o.Client.Host+":"+strconv.Itoa(o.Client.Port))
	push := hub.NewLogPusher(d.logPushOptions(o, l.agent))
	go func(a *hub.Agent, p *hub.LogPusher, ctx context.Context, done chan struct{}) {
		defer close(done)
		pushed := make(chan struct{})
		go func() {
			defer close(pushed)
			p.Run(ctx)
		}()
		a.Run(ctx)
		<-pushed
	}(l.agent, push, l.ctx, l.done)
}

// LogPushDir is where the log pusher keeps its position in each log file,
// under the storage.
const LogPushDir = "cache/logpush"

// logPushOptions configure the log pusher next to the agent: the same
// hub client and credentials, the log tree, and its timestamp format.
func (d *Device) logPushOptions(o hub.Options, a *hub.Agent) hub.LogPushOptions {
	cfg := d.o.Config
	return hub.LogPushOptions{Client: o.Client, CredsFile: o.CredsFile, Dir: d.o.Paths.Logs,
		PosDir: filepath.Join(d.o.Paths.Storage, LogPushDir), Writer: d.st.W, Gate: logGate{a, d},
		TimeFormat:   cfg.Get(config.LogFiletreeTimestampFormat).String(),
		AbsoluteTime: cfg.Get(config.LogTimestamp).String() == "absolute", Log: hubLogger{d}}
}

// logGate lets the log pusher run while the hub is online, the device
// claimed, and pushing enabled: PV_LOG_PUSH, which user-meta
// pantahub.log.push overrides, with the file tree among the log server's
// outputs (what the pusher reads), as upstream.
type logGate struct {
	*hub.Agent
	d *Device
}

// Enabled reports whether logs are to be pushed.
func (g logGate) Enabled() bool {
	if !strings.Contains(g.d.o.Config.Get(config.LogServerOutputs).String(), "filetree") {
		return false
	}
	if v, err := g.d.usrmeta.Get("pantahub.log.push"); err == nil && v != "" {
		return v == "1" || v == "true"
	}
	return g.d.o.Config.Get(config.LogPush).Bool()
}

// HubDrainTimeout bounds how long stopping the hub client waits for the
// progress reports queued to reach the hub (hub.Agent.Drain): the status
// that announced a reboot, INPROGRESS "Rebooting", goes out before it.
// Well under PV_WDT_TIMEOUT's 15 s: with PV_WDT_MODE always nothing keeps
// the watchdog alive between the engine's end and the shutdown.
const HubDrainTimeout = 5 * time.Second

// stopHub lets the hub client send the progress queued (at most
// HubDrainTimeout), stops it and waits for it; it is not started again.
func (d *Device) stopHub() {
	l := &d.remote.hub
	l.mu.Lock()
	l.stopped = true
	agent, actx, cancel, done := l.agent, l.ctx, l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	ctx, stop := context.WithTimeout(actx, HubDrainTimeout)
	agent.Drain(ctx)
	stop()
	cancel()
	<-done
}

// hubAgent is the started agent and its context, nil before.
func (d *Device) hubAgent() (*hub.Agent, context.Context) {
	l := &d.remote.hub
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agent, l.ctx
}

// hubClaimed reports whether the hub client knows the device claimed.
func (d *Device) hubClaimed() bool {
	a, _ := d.hubAgent()
	return a != nil && a.State().Claimed
}

// hubReport sends the progress the updater recorded for a hub revision
// (its name is a number) to the hub client (the updater's Reporter).
func (d *Device) hubReport(rev string, p progress.Progress) {
	n, err := strconv.Atoi(rev)
	if err != nil || n < 0 {
		return
	}
	if a, _ := d.hubAgent(); a != nil {
		a.Report(n, p)
	}
}

// hubPushMeta asks the hub client for a device-meta upload now.
func (d *Device) hubPushMeta() {
	if a, _ := d.hubAgent(); a != nil {
		a.PushMeta()
	}
}

// publishHub writes the client's state to device-meta (pantahub.state,
// .online, .claimed, .address), each key only when it changed; called
// from the engine's loop.
func (d *Device) publishHub() {
	a, _ := d.hubAgent()
	if a == nil {
		return
	}
	s := a.State()
	l := &d.remote.hub
	if l.shown == nil {
		l.shown = map[string]string{}
	}
	for _, kv := range [...][2]string{{hub.KeyState, s.State}, {hub.KeyOnline, flag(s.Online)},
		{hub.KeyClaimed, flag(s.Claimed)}, {hub.KeyAddress, s.Address}} {
		if v, ok := l.shown[kv[0]]; ok && v == kv[1] {
			continue
		}
		if err := d.devmeta.Set(kv[0], kv[1]); err != nil {
			d.log(engine.LevelWarn, "device-meta: "+err.Error())
			continue
		}
		l.shown[kv[0]] = kv[1]
	}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// hubLogger logs the hub client's lines as the device's.
type hubLogger struct{ d *Device }

func (l hubLogger) Printf(format string, args ...any) {
	l.d.log(engine.LevelInfo, printf.Sprintf(format, args...))
}

// hubDevice is the device as the hub client sees it (hub.Device). A hub
// step rev is the local revision trails/<rev>.
type hubDevice struct{ d *Device }

var _ hub.Device = hubDevice{}

// Running is the running revision and its raw state.
func (h hubDevice) Running() hub.Revision {
	rev := h.d.runningRev()
	data, err := h.d.st.StateJSON(rev)
	if err != nil {
		h.d.log(engine.LevelWarn, "hub: running revision: "+err.Error())
	}
	return hub.Revision{Rev: rev, State: data}
}

// Progress is rev's stored progress.
func (h hubDevice) Progress(rev int) (progress.Progress, bool) {
	data, err := h.d.st.Progress(strconv.Itoa(rev))
	if err != nil || data == nil {
		return progress.Progress{}, false
	}
	p, err := progress.Parse(data)
	return p, err == nil
}

// SetProgress stores p as rev's progress.
func (h hubDevice) SetProgress(rev int, p progress.Progress) error {
	return h.d.st.SetProgress(strconv.Itoa(rev), p.Bytes())
}

// PutStep stores the step's state as trails/<rev>, not yet run (a state
// that does not parse is storage.ErrBadState: WONTGO "State JSON has bad
// format").
func (h hubDevice) PutStep(rev int, state []byte) error {
	_, err := h.d.st.PutState(strconv.Itoa(rev), int64(len(state)), bytes.NewReader(state))
	return err
}

// RunStep runs rev as LOCAL_RUN runs a local step: on pv-ctrl's command
// goroutine, through the updater (control.runStep).
func (h hubDevice) RunStep(rev int) error {
	_, ctx := h.d.hubAgent()
	if ctx == nil || h.d.ctrl == nil {
		return errors.New("hub: no running revision")
	}
	return h.d.ctrl.runStep(ctx, strconv.Itoa(rev))
}

// DeviceMeta is the device-meta store's snapshot.
func (h hubDevice) DeviceMeta() map[string]string { return snapshot(h.d, h.d.devmeta) }

// UserMeta is the local user-meta.
func (h hubDevice) UserMeta() map[string]string { return snapshot(h.d, h.d.usrmeta) }

// ApplyUserMeta writes the hub's user-meta changes to the local store,
// which applies them as configuration (metaStores).
func (h hubDevice) ApplyUserMeta(set map[string]string, del []string) error {
	var errs []error
	for k, v := range set {
		errs = append(errs, h.d.usrmeta.Set(k, v))
	}
	for _, k := range del {
		errs = append(errs, h.d.usrmeta.Delete(k))
	}
	return errors.Join(errs...)
}

// snapshot lists a metadata store as a map (nil, logged, when unreadable).
func snapshot(d *Device, s *meta.Store) map[string]string {
	es, err := s.List()
	if err != nil {
		d.log(engine.LevelWarn, "hub: "+err.Error())
		return nil
	}
	m := make(map[string]string, len(es))
	for _, e := range es {
		m[e.Key] = e.Value
	}
	return m
}

// maybeStartHub starts the hub client once, in remote mode, when the
// running revision is a rollback point (DONE, or UPDATED: a swap the
// next boot commits) and no other update is under way, or when it is
// the revision under test after a reboot: upstream's hub client runs on
// a committed revision, and during a try so the hub sees its test (the
// try's status, recorded before the client ran, is sent at its start).
func (d *Device) maybeStartHub() {
	if !d.remote.on.Load() || d.o.Hub == nil || d.hubStarted() {
		return
	}
	rev := d.runningRev()
	data, err := d.st.Progress(rev)
	if err != nil || data == nil {
		return
	}
	p, err := progress.Parse(data)
	if err != nil {
		return
	}
	switch p.Status {
	case progress.Done, progress.Updated:
		if d.u.Updating() {
			return
		}
		d.startHub()
	case progress.InProgress, progress.Testing:
		if d.u.Rev() != rev {
			return
		}
		d.startHub()
		d.hubReport(rev, p)
	}
}

// runningRev is the revision that runs now (it moves with a swap).
func (d *Device) runningRev() string {
	if d.devmeta != nil {
		if rev, err := d.devmeta.Get(meta.KeyRevision); err == nil && rev != "" {
			return rev
		}
	}
	return d.rev
}

// updateMetadata carries out UPDATE_METADATA (remote mode only, pv-ctrl
// checks): the payload's pairs, a JSON object, are set in device-meta as
// a client's (published keys refused), then the hub client uploads
// device-meta at once.
func (d *Device) updateMetadata(payload string) {
	if payload != "" {
		pairs, err := meta.DecodeObject([]byte(payload))
		if err != nil {
			d.log(engine.LevelWarn, "UPDATE_METADATA: "+err.Error())
		}
		for k, v := range pairs {
			if err := d.devmeta.ClientSet(k, v); err != nil {
				d.log(engine.LevelWarn, "UPDATE_METADATA: "+err.Error())
			}
		}
	}
	d.hubPushMeta()
}

// runStep runs hub step rev on the command goroutine as LOCAL_RUN runs a
// local one; it returns once the updater started it (or refused), or
// when ctx ends (stopHub ends it before pv-ctrl closes).
func (c *control) runStep(ctx context.Context, rev string) error {
	s := stepRun{rev: rev, done: make(chan error, 1)}
	select {
	case c.d.remote.steps <- s:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// step starts hub step s through the updater, answers, then follows the
// plan (a reboot or a swap).
func (c *control) step(s stepRun) {
	d := c.d
	d.log(engine.LevelInfo, "hub: running step "+s.rev)
	plan, err := d.u.Start(s.rev, d.cur)
	if err != nil {
		d.log(engine.LevelError, "hub step "+s.rev+": "+err.Error())
	}
	s.done <- err
	d.follow("hub step", plan, false)
}

// remote is the device's remote mode (reference pantavisor-control
// §2.3, pantavisor-core §3.3): pantavisor.mode, pv-ctrl's Remote, and
// whether the hub client may run. Its hub client lives in hub_linux.go
// (nohub_linux.go: none).
type remote struct {
	on    atomic.Bool  // remote mode
	hub   hubLink      // the hub client, once started
	steps chan stepRun // hub steps for pv-ctrl's command goroutine (control.runStep)
}

// initRemote chooses the mode the revision starts in and publishes it:
// remote when PV_CONTROL_REMOTE is on, the build has a hub client and
// the revision is not a local one (unless PV_CONTROL_REMOTE_ALWAYS).
func (d *Device) initRemote() {
	d.remote.steps = make(chan stepRun)
	local := strings.HasPrefix(d.rev, "locals/") && !d.cfg.Get(config.ControlRemoteAlways).Bool()
	d.remote.on.Store(d.cfg.Get(config.ControlRemote).Bool() && d.o.Hub != nil && !local)
	d.setMode(d.remote.on.Load())
}

// goRemote leaves local mode (GO_REMOTE) and starts the hub client when
// it may run.
func (d *Device) goRemote() {
	d.remote.on.Store(true)
	d.setMode(true)
	d.maybeStartHub()
}

// ctrlRemote are pv-ctrl's Remote and Claimed: the mode, and the hub
// client's claim.
func (d *Device) ctrlRemote() (remote, claimed func() bool) {
	return d.remote.on.Load, d.hubClaimed
}

// reporter is the updater's Reporter: each progress recorded goes to the
// hub client (hubReport).
func (d *Device) reporter() update.Reporter { return update.ReporterFunc(d.hubReport) }

// hubRemote is the updater's Remote: the hub link a hub update depends on.
func (d *Device) hubRemote() update.Remote { return hubHealth{d} }

// hubHealth is the hub client's link as the updater sees it
// (update.Remote); before the client starts it is unreachable and has
// missed nothing.
type hubHealth struct{ d *Device }

var _ update.Remote = hubHealth{}

// Follows reports whether rev is a hub step (a revision number above 0:
// revision 0 is the factory one, locals/… local steps) and the device is
// in remote mode.
func (h hubHealth) Follows(rev string) bool {
	n, err := strconv.Atoi(rev)
	return err == nil && n > 0 && strconv.Itoa(n) == rev && h.d.remote.on.Load()
}

// Reachable reports whether the hub client is online and in its report
// state (upstream's condition while INPROGRESS).
func (h hubHealth) Reachable() bool {
	a, _ := h.d.hubAgent()
	if a == nil {
		return false
	}
	s := a.State()
	return s.Online && s.State == hub.StateReport
}

// Missed is the hub client's count of requests without an answer.
func (h hubHealth) Missed() uint64 {
	a, _ := h.d.hubAgent()
	if a == nil {
		return 0
	}
	return a.State().Missed
}

// commands runs pv-ctrl's commands and the hub's steps, one at a time.
func (c *control) commands() {
	defer c.wg.Done()
	for {
		select {
		case cmd, ok := <-c.srv.Commands:
			if !ok {
				return
			}
			c.run(cmd)
			c.srv.Done()
		case s := <-c.d.remote.steps:
			c.step(s)
		}
	}
}

// stepRun is a hub step for the command goroutine; done gets Start's
// error before the plan is carried out.
type stepRun struct {
	rev  string
	done chan error
}
