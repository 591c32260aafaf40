// Package ctrl is the pv-ctrl socket: the HTTP routes of upstream
// Pantavisor's control API (containers, groups, signals, commands,
// objects, steps, metadata, configuration) with the caller identified on
// every request from its cgroup.
package ctrl

import (
	"context"
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
