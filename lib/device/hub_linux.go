//go:build !nohub

package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/hub"
	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/meta"
	"pantavisor/lib/progress"
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
			fmt.Fprintf(console, "pantavisor: config: %v\n", w)
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
	ctx     context.Context // the agent's: ends at stopHub
	cancel  context.CancelFunc
	done    chan struct{} // closed when the agent's Run returned
	stopped bool

	shown map[string]string // pantahub.* as published in device-meta (engine loop only)
}

// hubUnavailable is the nohub build's note; this build has a hub client.
func (d *Device) hubUnavailable() {}

// hubStarted reports whether the hub client was started.
func (d *Device) hubStarted() bool {
	l := &d.remote.hub
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.agent != nil
}

// startHub starts the hub client on the revision's context, once; it
// never waits for the hub.
func (d *Device) startHub() {
	l := &d.remote.hub
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.agent != nil || l.stopped || d.ctx == nil {
		return
	}
	o := *d.o.Hub
	o.Storage, o.Writer, o.Log = d.st, d.st.W, hubLogger{d}
	l.agent = hub.New(o, hubDevice{d})
	l.ctx, l.cancel = context.WithCancel(d.ctx)
	l.done = make(chan struct{})
	d.log(engine.LevelInfo, "hub: client started for "+o.Client.Host+":"+strconv.Itoa(o.Client.Port))
	go func(a *hub.Agent, ctx context.Context, done chan struct{}) {
		defer close(done)
		a.Run(ctx)
	}(l.agent, l.ctx, l.done)
}

// stopHub stops the hub client and waits for it; it is not started again.
func (d *Device) stopHub() {
	l := &d.remote.hub
	l.mu.Lock()
	l.stopped = true
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
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
// (its name is a number) to the hub client.
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

func (l hubLogger) Printf(format string, args ...any) { l.d.logHub(fmt.Sprintf(format, args...)) }

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
