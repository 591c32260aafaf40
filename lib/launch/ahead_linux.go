package launch

import (
	"sync"

	"pantavisor/lib/container"
)

// Ahead holds the stages of a revision's containers spawned ahead of
// their starts (Revision.Prepare), one per container at most: a stage's
// Go runtime then starts while the device waits for earlier groups or
// for a restart's delay, off the start's path. A start takes its
// container's stage when it fits the start's plan (container.Stage.Fits)
// and spawns its own otherwise. Each idle stage holds memory (about
// 0.7 MB here): Max bounds how many wait at once, and the owner closes
// the Ahead when the revision stops or is replaced. The zero value is
// ready and unbounded; a nil *Ahead spawns at every start.
type Ahead struct {
	Max int // idle stages at most; 0: no bound

	mu sync.Mutex
	// stages are the idle stages by container; a nil one is a Prepare
	// that failed, not tried again before the container's start.
	stages map[string]*container.Stage
	closed bool
}

// Prepare spawns the stage of container name ahead of its start into
// o.Ahead: nothing when o.Ahead is nil, closed or full, or already holds
// (or failed) one for name. It plans the container as its start will,
// without leasing or linking its network (Networks.Owns), and mounts
// nothing.
func (r *Revision) Prepare(name string, o Options) error {
	if o.Ahead == nil || !o.Ahead.wants(name) {
		return nil
	}
	s, err := r.spawn(name, o)
	o.Ahead.put(name, s)
	return err
}

// spawn spawns the stage container name's start would.
func (r *Revision) spawn(name string, o Options) (*container.Stage, error) {
	c, err := r.container(name)
	if err != nil {
		return nil, err
	}
	cfg, _, err := r.config(c)
	if err != nil {
		return nil, err
	}
	in := &Instance{Name: name}
	if o.Networks != nil { // as planNetwork, leasing and linking nothing
		in.net.Own = o.Networks.Owns(c, cfg)
		in.host = hostname(c)
	}
	opts, err := in.planStage(request(c, cfg, o), o)
	if err != nil {
		return nil, err
	}
	return container.Spawn(opts)
}

// wants: a stage for name would be kept.
func (a *Ahead) wants(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.stages[name]; ok || a.closed {
		return false
	}
	idle := 0
	for _, s := range a.stages {
		if s != nil {
			idle++
		}
	}
	return a.Max == 0 || idle < a.Max
}

// put keeps s (nil: a failed Prepare) as name's stage; a closed Ahead
// closes it instead.
func (a *Ahead) put(name string, s *container.Stage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		if s != nil {
			s.Close()
		}
		return
	}
	if old := a.stages[name]; old != nil {
		old.Close()
	}
	if a.stages == nil {
		a.stages = map[string]*container.Stage{}
	}
	a.stages[name] = s
}

// take gives the stage for a start of container name with opts: the one
// spawned ahead when it fits and still runs, else a new one (a stage that
// does not fit, the LXC config having changed since, or that was killed
// while it waited, is closed).
func (a *Ahead) take(name string, opts container.Options) (*container.Stage, error) {
	if a != nil {
		a.mu.Lock()
		s := a.stages[name]
		delete(a.stages, name)
		a.mu.Unlock()
		if s != nil && s.Fits(opts) && !s.Gone() {
			return s, nil
		}
		if s != nil {
			s.Close()
		}
	}
	return container.Spawn(opts)
}

// Close ends the stages not taken; later ones are closed as they come.
func (a *Ahead) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for name, s := range a.stages {
		if s != nil {
			s.Close()
		}
		delete(a.stages, name)
	}
}
