// Package ctrl is the pv-ctrl socket: the HTTP routes of upstream
// Pantavisor's control API (containers, groups, signals, commands,
// objects, steps, metadata, configuration) with the caller identified on
// every request from its cgroup.
package ctrl

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"pantavisor/lib/config"
	"pantavisor/lib/connlimit"
	"pantavisor/lib/drivers"
	"pantavisor/lib/engine"
	"pantavisor/lib/http1"
	"pantavisor/lib/meta"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Engine is the part of lib/engine the routes use.
type Engine interface {
	Containers() []engine.ContainerStatus
	Groups() []engine.GroupStatus
	Signal(ctx context.Context, name, kind string) error
	Control(ctx context.Context, name, action string) error
}

// Command is a queued /commands request.
type Command struct {
	Op      string // one of the Op* names
	Payload string
}

// Server is the pv-ctrl socket of a running revision. Fill the fields,
// then call Start; Close stops it. State and Engine may be replaced while
// it runs with SetRevision only.
type Server struct {
	Socket    string           // the socket path: <PV_SYSTEM_RUNDIR>/pv-ctrl
	Storage   *storage.Storage // objects, steps, progress, GC
	State     *state.State     // the running revision (containers' roles); nil until loaded
	Engine    Engine           // nil until the revision runs
	DevMeta   *meta.Store
	UsrMeta   *meta.Store
	Config    *config.Config                         // nil: the defaults
	Identify  func(pid int) (name string, err error) // cgroup name of pid; "" for host processes (_pv_)
	AppEngine bool                                   // appengine mode: a caller "<c>-<digits>" is also looked up as <c>
	// Commands receives the accepted /commands. One command is pending
	// from its acceptance until the device calls Done, and a second one
	// is refused meanwhile, so a capacity of 1 never blocks; Start makes
	// it (capacity 1) when nil.
	Commands  chan Command
	Updating  func() bool      // an update is in progress (503 Retry-After 600); nil: never
	Remote    func() bool      // remote mode (UPDATE_METADATA, GO_REMOTE); nil: never
	Claimed   func() bool      // the device is claimed on the Hub (MAKE_FACTORY, UNCLAIM); nil: never
	BuildInfo []byte           // GET /buildinfo, text/plain
	TrustDir  string           // the trust stores of PUT /steps' signature check; "": TrustDir
	Drivers   *drivers.Manager // the /drivers routes' loads; nil: driver management off (statuses UNKNOWN, loads fail)
	Log       func(msg string)

	http    http1.Server
	timeout time.Duration // a request's wait on the engine (10 s)

	// stateSlots bounds the uploaded states held in memory for their
	// signature check (each up to state.MaxSize) to stateSlots.
	stateSlots chan struct{}

	mu      sync.Mutex // guards State and Engine once started, and pending
	pending bool       // a command was accepted and Done not yet called
}

// Start listens on Socket and serves the routes in the background until
// Close. Each connection is classified when accepted (see classify):
// 32 of the 256 connections are reserved for the host, 32 for the mgmt
// containers, and any other container holds 32 at most; a connection
// over its share is answered 503 and closed.
func (s *Server) Start() error {
	if s.Commands == nil {
		s.Commands = make(chan Command, 1)
	}
	if s.timeout == 0 {
		s.timeout = 10 * time.Second
	}
	s.stateSlots = make(chan struct{}, stateSlots)
	s.http = http1.Server{Handler: s.serve, Log: s.Log, Classify: s.classify,
		ClassLimits: connlimit.Limits{Host: hostConns, Mgmt: mgmtConns, PerContainer: containerConns}}
	return s.http.Listen(s.Socket)
}

// Close stops the socket and waits for the requests in progress.
func (s *Server) Close() error { return s.http.Close() }

// SetRevision replaces the running revision's state and engine (either
// may be nil: not loaded, not running).
func (s *Server) SetRevision(st *state.State, e Engine) {
	s.mu.Lock()
	s.State, s.Engine = st, e
	s.mu.Unlock()
}

// revision returns the state and engine in effect.
func (s *Server) revision() (*state.State, Engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.State, s.Engine
}

// Done frees the command slot: the device has handled the command it took
// from Commands, and /commands accepts the next one.
func (s *Server) Done() {
	s.mu.Lock()
	s.pending = false
	s.mu.Unlock()
}

func (s *Server) logf(msg string) {
	if s.Log != nil {
		s.Log(msg)
	}
}

// handler answers one route; args are the {} segments of its template.
type handler func(s *Server, w *http1.Response, r *http1.Request, c *Caller, args []string)

// Caller is who sent a request: a container of the running revision, or
// Pantavisor and host processes ("_pv_").
type Caller struct {
	Name string // container name, or "_pv_"
	Mgmt bool   // may use every route (role mgmt, or _pv_)
}

// errNoDrivers is the load error of a server without driver management.
var errNoDrivers error = &sentinel.Error{Text: "driver management is off"}

// errTooBig is readBody's error for a body over its cap.
var errTooBig error = &sentinel.Error{Text: "body too big"}

// readBody reads the whole request body, at most max bytes; over that it
// returns errTooBig (answered 507 as upstream, see sendTooBig).
func readBody(r *http1.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, errTooBig
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooBig
	}
	return b, nil
}

// sendError answers {"Error":"msg"} as upstream (no space after the colon).
func sendError(w *http1.Response, status int, msg string) {
	w.Send(status, "application/json", appendError(nil, msg))
}

func appendError(b []byte, msg string) []byte {
	b = append(b, `{"Error":`...)
	b = rawjson.AppendString(b, msg)
	return append(b, '}')
}

// sendTooBig is upstream's answer to a body over its cap: 507, which
// pvcontrol turns into exit 48.
func sendTooBig(w *http1.Response) { sendError(w, 507, "Not enough disk space available") }

// sendOK is upstream's plain OK: 200, JSON content type, empty body.
func sendOK(w *http1.Response) { w.Send(200, "application/json", nil) }

// sendJSON answers 200 with a JSON body.
func sendJSON(w *http1.Response, body []byte) { w.Send(200, "application/json", body) }

// sendBodyError answers a failed readBody: 507 over the cap, else 400
// with msg.
func sendBodyError(w *http1.Response, err error, msg string) {
	if errors.Is(err, errTooBig) {
		sendTooBig(w)
		return
	}
	sendError(w, 400, msg)
}
