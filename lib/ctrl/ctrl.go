// Package ctrl is the pv-ctrl socket: the HTTP routes of upstream
// Pantavisor's control API (containers, groups, signals, commands,
// objects, steps, metadata, configuration) with the caller identified on
// every request from its cgroup.
package ctrl

import (
	"context"
	"errors"
	"io"
	"pantavisor/lib/rawjson"
	"time"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/http1"
	"pantavisor/lib/meta"
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

// Server is the pv-ctrl socket of a running revision.
type Server struct {
	Socket   string           // the socket path: <PV_SYSTEM_RUNDIR>/pv-ctrl
	Storage  *storage.Storage // objects, steps, progress, GC
	State    *state.State     // the running revision (containers' roles); nil until loaded
	Engine   Engine           // nil until the revision runs
	DevMeta  *meta.Store
	UsrMeta  *meta.Store
	Config   *config.Config
	Identify func(pid int) (name string, err error) // cgroup name of pid; "" for host processes (_pv_)
	// Commands receives the accepted /commands (one pending at a time);
	// the device takes them from it and calls Done when one is handled.
	Commands  chan Command
	Updating  func() bool // an update is in progress (503 Retry-After 600)
	Remote    func() bool // remote mode (UPDATE_METADATA, GO_REMOTE)
	Claimed   func() bool // the device is claimed on the Hub (MAKE_FACTORY)
	BuildInfo []byte      // GET /buildinfo, text/plain
	Log       func(msg string)

	http    http1.Server
	timeout time.Duration
}

// handler answers one route; args are the {} segments of its template.
type handler func(s *Server, w *http1.Response, r *http1.Request, c *Caller, args []string)

// Caller is who sent a request: a container of the running revision, or
// Pantavisor and host processes ("_pv_").
type Caller struct {
	Name string // container name, or "_pv_"
	Mgmt bool   // may use every route (role mgmt, or _pv_)
}

// errTooBig is readBody's error for a body over its cap.
var errTooBig = errors.New("body too big")

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

// route is one entry of the routing table. A path with "{}" segments is a
// template route (matched segment by segment, query included, as upstream
// matches the raw URI); any other path is exact (query ignored, no
// trailing slash). The two kinds differ in some error texts.
type route struct {
	method    string
	path      string
	h         handler
	anyCaller bool // no mgmt role needed (only POST /signal)
}
