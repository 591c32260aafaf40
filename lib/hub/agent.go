package hub

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pantavisor/lib/hub/fetch"
	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/hub/proto"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
	"pantavisor/lib/storage"
)

// The client states, as upstream writes them to device-meta
// pantahub.state.
const (
	StateInit     = "init"
	StateRegister = "register"
	StateClaim    = "claim"
	StateLogin    = "login"
	StateWaitHub  = "wait Hub"
	StateSync     = "sync"
	StateIdle     = "idle"
	StatePrep     = "prep download"
	StateDownload = "download"
	StateReport   = "report"
)

// Upstream defaults of the timing options.
const (
	DefaultUpdaterInterval  = 5 * time.Second  // PH_UPDATER_INTERVAL
	DefaultDevMetaInterval  = 10 * time.Second // PH_METADATA_DEVMETA_INTERVAL
	DefaultUserMetaInterval = 5 * time.Second  // PH_METADATA_USRMETA_INTERVAL
	DefaultRetries          = 10               // PV_REVISION_RETRIES
	DefaultTick             = time.Second
	// ReqInterval is upstream's REQ_INTERVAL: the period of login,
	// GET /trails/, object metadata and the DOWNLOADING heartbeat.
	ReqInterval = 6 * time.Second
)

// Hint file names in Options.PVDir.
const (
	HintDeviceID  = "device-id"
	HintChallenge = "challenge"
	HintHost      = "pantahub-host"
)

// Logger receives the agent's log lines. Lines never carry a token or a
// secret.
type Logger interface {
	Printf(format string, args ...any)
}

// Revision is the revision the device runs: its name and its raw state
// JSON (the objects are the state's non-JSON keys).
type Revision struct {
	Rev   string
	State []byte
}

// Device is what the agent needs of the device. The agent calls it only
// from its own goroutine (Run); calls may block briefly (a file write)
// but must not wait for the hub.
//
// A hub step rev is the local revision strconv.Itoa(rev). Its retry
// count lives in its local progress: the agent announces start
// Progress(rev).Retries+1 ("Retried X of Y") without writing it, and
// RunStep's updater (update.Updater.Start) writes that same count.
type Device interface {
	// Running is the revision that runs now (factory sync uploads its
	// objects from Options.Storage, then its state).
	Running() Revision
	// Progress is the local progress of revision rev
	// (storage.Progress then progress.Parse); ok is false when the
	// revision is not stored or has no readable progress.
	Progress(rev int) (p progress.Progress, ok bool)
	// SetProgress stores p as rev's local progress
	// (storage.SetProgress(p.Bytes())). The agent writes only the final
	// statuses it decides (WONTGO before a hand-over, ERROR "Internal
	// error" when RunStep fails without one), so a reboot re-sends them.
	SetProgress(rev int, p progress.Progress) error
	// PutStep stores the state JSON of hub step rev as a revision not
	// yet run (storage.PutState; its signatures are checked by RunStep).
	// The agent calls it only when Progress(rev) reports no revision. An
	// error wrapping storage.ErrBadState is reported as WONTGO "State
	// JSON has bad format", any other as WONTGO "Internal error".
	PutStep(rev int, state []byte) error
	// RunStep installs and runs rev once all its objects are stored
	// (update.Updater.Start and what the device does with its Plan). It
	// returns when the update is under way or refused; what follows
	// (INPROGRESS … and a final status, WONTGO included) comes back
	// through Agent.Report. An error means no status will follow: the
	// agent sends the local progress if final, else ERROR "Internal
	// error". The agent also polls Progress(rev) every
	// UpdaterInterval and ends the step on a final status.
	RunStep(rev int) error
	// DeviceMeta is the device-meta to upload; the agent adds its own
	// pantahub.* keys (KeyState, KeyOnline, KeyClaimed, KeyAddress).
	DeviceMeta() map[string]string
	// UserMeta is the user-meta stored locally.
	UserMeta() map[string]string
	// ApplyUserMeta writes set and deletes del from the local user-meta
	// (keys already checked with meta.CheckKey).
	ApplyUserMeta(set map[string]string, del []string) error
}

// Options configure an Agent. Client, CredsFile and Storage are
// required; zero values of the others take upstream's defaults.
type Options struct {
	// Client is the transport to the hub (Host, Port, CA or Insecure,
	// proxy, Timeout, UserAgent); its Token is ignored.
	Client hubhttp.Client
	// AutoToken is PH_FACTORY_AUTOTOK, sent at registration when set.
	AutoToken string
	// CredsFile is pantahub.config, where creds.id/prn/secret live.
	CredsFile string
	// PVDir receives the hint files device-id, challenge and
	// pantahub-host; "" writes none.
	PVDir string
	// Storage holds the objects (factory sync reads them, downloads
	// write them).
	Storage *storage.Storage
	// Writer makes the credentials and hint files durable; nil: a zero
	// persist.Writer.
	Writer *persist.Writer

	UpdaterInterval  time.Duration // PH_UPDATER_INTERVAL (5 s)
	DevMetaInterval  time.Duration // PH_METADATA_DEVMETA_INTERVAL (10 s)
	UserMetaInterval time.Duration // PH_METADATA_USRMETA_INTERVAL (5 s)
	TransferMax      int           // PH_UPDATER_TRANSFER_MAX_COUNT (5)
	Retries          int           // PV_REVISION_RETRIES (10)
	OnlineThreshold  int           // PH_ONLINE_REQUEST_THRESHOLD (0)

	Tick time.Duration    // Run's loop period (1 s)
	Now  func() time.Time // clock seam; nil: time.Now
	Log  Logger           // nil: discard
}

// State is a snapshot of the agent, for device-meta and pv-ctrl.
type State struct {
	State     string // pantahub.state: one of the State* names
	Online    bool   // pantahub.online
	Claimed   bool   // pantahub.claimed
	Address   string // pantahub.address: host:port of the hub
	DeviceID  string // "" until registered
	Challenge string // the claim challenge while unclaimed
	Rev       int    // the hub step under way, -1 when none
	// Missed counts the agent's requests that got no HTTP response
	// (hubhttp.ErrNoResponse; an HTTP error status is an answer) since
	// New; it never decreases. The updater fails a hub update whose
	// TESTING sees it grow ("Hub communication not stable").
	Missed uint64
}

// Agent is the hub client. Create it with New, start Run once, read State
// and call Report from any goroutine.
type Agent struct {
	o   Options
	dev Device

	// Owned by the Run goroutine.
	creds     proto.Creds
	loaded    bool
	token     string
	claimed   bool
	challenge string
	synced    bool
	online    bool
	misses    int    // requests in a row without an answer
	missed    uint64 // requests without an answer since New (State.Missed)
	name      string
	next      time.Time // next login / claim / trails / metadata-or-retry request
	nextSteps time.Time
	nextDev   time.Time
	nextUsr   time.Time
	sentMeta  map[string]string
	metaErr   string // the last user-meta refusal logged
	lastLine  string // the last line logged
	repeats   int    // times lastLine came again since
	upd       *update
	dlDone    chan error
	dlSeen    atomic.Int32 // dlNothing, dlAnswered or dlMissed, set by the downloads
	metaNow   atomic.Bool  // PushMeta asked for a device-meta upload
	unclaimed atomic.Bool  // Unclaim asked to drop the identity

	mu      sync.Mutex // guards view, pending, sending, session and drained
	view    State
	pending *report       // the progress PUT waiting (see Report)
	sending bool          // the report taken from pending is being sent
	session bool          // logged in and synced: a waiting report can be sent
	drained chan struct{} // closed, and replaced, when a report was sent (Drain)
	wake    chan struct{}
}

// report is one progress PUT.
type report struct {
	rev int
	p   progress.Progress
}

// New returns an agent for dev; nothing happens before Run.
func New(o Options, dev Device) *Agent {
	if o.UpdaterInterval <= 0 {
		o.UpdaterInterval = DefaultUpdaterInterval
	}
	if o.DevMetaInterval <= 0 {
		o.DevMetaInterval = DefaultDevMetaInterval
	}
	if o.UserMetaInterval <= 0 {
		o.UserMetaInterval = DefaultUserMetaInterval
	}
	if o.TransferMax <= 0 {
		o.TransferMax = fetch.DefaultMax
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Writer == nil {
		o.Writer = &persist.Writer{}
	}
	a := &Agent{o: o, dev: dev, name: StateInit, wake: make(chan struct{}, 1), dlDone: make(chan error, 1),
		drained: make(chan struct{})}
	a.publish()
	return a
}

// Run drives the agent until ctx is done; start it in its own goroutine.
// Every Tick, and at once when Report queued a progress, it makes the
// requests that are due. Requests are bounded by the client's Timeout and
// by ctx, so a hung hub delays only the agent itself.
func (a *Agent) Run(ctx context.Context) {
	t := time.NewTicker(a.o.Tick)
	defer t.Stop()
	for {
		a.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.wake:
		}
	}
}

// State returns a snapshot of the agent; it never waits for the hub.
func (a *Agent) State() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.view
}

// Report queues p, the progress of hub step rev, for the hub (the
// device's updater calls it for INPROGRESS, TESTING and the final
// status). It never blocks: at most one report waits while one is sent,
// and a newer one replaces the one waiting (upstream's queue). A report
// that fails is not retried: a final status stored locally is sent again
// when the hub still lists the step.
func (a *Agent) Report(rev int, p progress.Progress) {
	a.mu.Lock()
	a.pending = &report{rev, p}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// PushMeta asks for the device-meta upload at once rather than at the
// next DevMetaInterval (pv-ctrl's UPDATE_METADATA); like the timed one it
// sends only what changed, once online and synced. It never blocks.
func (a *Agent) PushMeta() {
	a.metaNow.Store(true)
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// step makes the requests due at the clock's now. Steps: send a waiting
// progress report; then the first missing piece of the session
// (registration, claim, login, the factory trail); then, once synced, the
// update and the metadata timers.
func (a *Agent) step(ctx context.Context) {
	defer a.publish()
	now := a.o.Now()
	if !a.loaded {
		if !a.loadCreds() {
			return
		}
	}
	a.flushReport(ctx)
	a.maybeUnclaim(now)
	switch {
	case a.creds.ID == "":
		a.register(ctx, now)
	case !a.claimed:
		a.checkClaim(ctx, now)
	case a.token == "":
		a.login(ctx, now)
	case !a.synced:
		a.waitHub(ctx, now)
	default:
		a.stepUpdate(ctx, now)
		if a.token != "" {
			a.stepMeta(ctx, now)
		}
	}
}

// setName sets the client state reported as pantahub.state, published
// at once (a request may then block for a while).
func (a *Agent) setName(name string) {
	if a.name != name {
		a.name = name
		a.publish()
	}
}

// publish copies the loop's state into the snapshot State returns.
func (a *Agent) publish() {
	v := State{State: a.name, Online: a.online, Claimed: a.claimed, DeviceID: a.creds.ID,
		Challenge: a.challenge, Rev: -1, Address: a.address(), Missed: a.missed}
	if a.upd != nil {
		v.Rev = a.upd.rev
	}
	a.mu.Lock()
	a.view, a.session = v, a.token != "" && a.synced
	a.mu.Unlock()
}

// address is host:port of the hub.
func (a *Agent) address() string {
	port := a.o.Client.Port
	if port == 0 {
		port = hubhttp.DefaultPort
	}
	return net.JoinHostPort(a.o.Client.Host, strconv.Itoa(port))
}

// logf logs a line. A line equal to the one before is counted instead
// (an unreachable hub fails the same way every few seconds), and the
// count is logged before the next different line.
func (a *Agent) logf(format string, args ...any) {
	if a.o.Log == nil {
		return
	}
	line := printf.Sprintf(format, args...)
	if line == a.lastLine {
		a.repeats++
		return
	}
	if a.repeats > 0 {
		a.o.Log.Printf("hub: last message repeated %d times", a.repeats)
	}
	a.lastLine, a.repeats = line, 0
	a.o.Log.Printf("%s", line)
}
