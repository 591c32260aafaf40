package device

import (
	"context"
	"strconv"
	"strings"

	"pantavisor/lib/drivers"
	"pantavisor/lib/engine"
	"pantavisor/lib/launch"
	"pantavisor/lib/logs"
	"pantavisor/lib/meta"
	"pantavisor/lib/netpool"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
	"pantavisor/lib/volume"
)

// starts is what the container starts of one revision keep between
// them: the image mounts (volume.Shared) and the stages spawned ahead of
// their starts (launch.Ahead).
type starts struct {
	shared *volume.Shared
	ahead  *launch.Ahead
}

// stagesAhead bounds the stages a revision keeps spawned ahead of their
// starts: each idle one holds about 0.7 MB, so at most about 3 MB wait
// while earlier groups come up; the next blocked container gets one as
// soon as a start took one.
const stagesAhead = 4

// newStarts is an empty starts for revision rev.
func (d *Device) newStarts(rev string) starts {
	return starts{shared: d.o.Launch.NewShared(rev), ahead: &launch.Ahead{Max: stagesAhead}}
}

// runner is the engine's Runner for revision rev of the device; its
// starts keep their image mounts and stages in k (see retire).
func (d *Device) runner(rev string, s *state.State, k starts) engine.Runner {
	o := d.o.Launch
	o.Shared, o.Ahead = k.shared, k.ahead
	return &runner{rev: &launch.Revision{Storage: d.st, Rev: rev, State: s}, o: o, logs: d.o.Logs, drv: d.drv, log: d.log,
		nets: d.o.Networks, meta: d.devmeta}
}

// retire ends the stages spawned ahead for k's revision (stopped or
// replaced) and releases its image mounts; the ones still in use go with
// their last container.
func (d *Device) retire(k starts) {
	k.ahead.Close()
	if err := k.shared.Retire(); err != nil {
		d.log(engine.LevelWarn, "shared volume mounts: "+err.Error())
	}
}

// runner adapts lib/launch to the engine.
type runner struct {
	rev  *launch.Revision // its state is the one the engine runs
	o    launch.Options
	logs *logs.Server     // nil: no file loggers
	drv  *drivers.Manager // nil: no driver management
	log  func(engine.Level, string)
	nets *netpool.Networks // nil: no container networks
	meta *meta.Store       // device-meta, where each container's addresses go; nil: not published
}

// Start loads the container's drivers (startDrivers), starts it and
// follows its log files; closing the unit releases its drivers.
func (r *runner) Start(name string) (engine.Unit, error) {
	c := r.rev.State.Container(name)
	if r.drv == nil {
		return r.start(name, c)
	}
	release := func() { r.drv.Release(name) }
	if err := r.startDrivers(c); err != nil {
		release() // the aliases loaded before the failing one
		return nil, err
	}
	u, err := r.start(name, c)
	if err != nil {
		release()
		return nil, err
	}
	return releasedUnit{Unit: u, release: release}, nil
}

// Prepare spawns container name's stage ahead of its start (lib/launch).
// A failure is only a debug line: the start meets it again and says so.
func (r *runner) Prepare(name string) {
	if err := r.rev.Prepare(name, r.o); err != nil {
		r.log(engine.LevelDebug, "container "+name+": not prepared: "+err.Error())
	}
}

// start starts container name (c in the state) and its file loggers.
func (r *runner) start(name string, c *state.Container) (engine.Unit, error) {
	in, err := r.rev.Start(name, r.o)
	if err != nil {
		return nil, err
	}
	for _, w := range in.Warning {
		r.log(engine.LevelWarn, "container "+name+": "+w)
	}
	r.publishAddrs(name)
	if r.logs == nil || in.Pid() == 0 {
		return in, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, t := range fileLoggers(c, in.Pid()) {
		go t.Run(ctx, r.logs)
	}
	return &tailedUnit{Instance: in, stop: cancel}, nil
}

// publishAddrs puts the addresses of container name on its pools in
// device-meta, under NetworkKey(name), as {"eth0":"10.0.5.2/24"}.
func (r *runner) publishAddrs(name string) {
	if r.nets == nil || r.meta == nil {
		return
	}
	leases := r.nets.Leases(name)
	if len(leases) == 0 {
		return
	}
	b := []byte{'{'}
	for i, l := range leases {
		if i > 0 {
			b = append(b, ',')
		}
		b = rawjson.AppendString(b, l.Iface)
		b = append(b, ':')
		b = rawjson.AppendString(b, l.Addr.String())
	}
	b = append(b, '}')
	if err := r.meta.Set(NetworkKey(name), string(b)); err != nil {
		r.log(engine.LevelWarn, "device-meta: "+err.Error())
	}
}

// NetworkKey is the device-meta key of container name's addresses.
func NetworkKey(name string) string { return "pantavisor.network." + name }

// defaultLoggers are the files followed when run.json has no "logs", as
// upstream: syslog and messages, truncated past 2 MiB.
var defaultLoggers = [...]string{"/var/log/syslog", "/var/log/messages"}

// fileLoggers are the Tails of a container's run.json "logs" (file
// entries), read through /proc/<pid>/root.
func fileLoggers(c *state.Container, pid int) []logs.Tail {
	if c == nil {
		return nil
	}
	root := "/proc/" + strconv.Itoa(pid) + "/root"
	var out []logs.Tail
	if len(c.Logs) == 0 {
		for _, f := range defaultLoggers {
			out = append(out, logs.Tail{Path: root + f, Platform: c.Name, Source: strings.TrimPrefix(f, "/"),
				MaxSize: 2 << 20, Truncate: true})
		}
		return out
	}
	for _, l := range c.Logs {
		if l.File == "" || !strings.HasPrefix(l.File, "/") {
			continue
		}
		max, _ := strconv.ParseInt(l.MaxSize, 10, 64)
		out = append(out, logs.Tail{Path: root + l.File, Platform: c.Name, Source: strings.TrimPrefix(l.File, "/"),
			MaxSize: max, Truncate: l.Truncate == "true"})
	}
	return out
}

// tailedUnit stops a container's file loggers when it is closed.
type tailedUnit struct {
	*launch.Instance
	stop context.CancelFunc
}

func (u *tailedUnit) Close() error {
	u.stop()
	return u.Instance.Close()
}

func (r *runner) Mount(name string) (engine.Unit, error) {
	in, err := r.rev.Mount(name, r.o)
	if err != nil {
		return nil, err
	}
	return in, nil
}
