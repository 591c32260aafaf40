package device

import (
	"cmp"
	"path/filepath"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/hooks"
	"pantavisor/lib/logs"
	"pantavisor/lib/meta"
	"pantavisor/lib/printf"
)

// The system hook points the device runs.
const (
	hookSystemStart = hooks.SystemStart
	hookSystemDone  = hooks.SystemDone
)

// publishMeta opens the device-meta and user-meta stores, loads the
// persisted user-meta, publishes pantavisor.revision and, off the path
// to the first container, the system entries (files written durably one
// by one: about 0.1 s under QEMU TCG). It returns the wait for those,
// which must be done before the storage is unmounted.
func (d *Device) publishMeta() (wait func()) {
	d.devmeta, d.usrmeta = d.metaStores()
	if err := d.usrmeta.Load(); err != nil {
		d.log(engine.LevelWarn, "user-meta: "+err.Error())
	}
	if err := d.devmeta.SetRevision(d.rev); err != nil {
		d.log(engine.LevelWarn, "device-meta: "+err.Error())
	}
	d.initRemote()
	published := make(chan struct{})
	go func() {
		defer close(published)
		if entries, err := (&meta.System{Storage: d.st.Root}).Collect(); err == nil || len(entries) > 0 {
			if err := d.devmeta.Publish(entries); err != nil {
				d.log(engine.LevelWarn, "device-meta: "+err.Error())
			}
		}
	}()
	return func() { <-published }
}

// metaStores are the device-meta and user-meta stores: views in the run
// dir (meta derives them), persisted in the revision's pv--devmeta and
// pv--usrmeta volumes when device.json declares them, else in
// PV_CACHE_DEVMETADIR and PV_CACHE_USRMETADIR (the storage's
// cache/devmeta and cache/meta; see metaPersist); each user-meta key is
// also applied to the configuration.
func (d *Device) metaStores() (dev, usr *meta.Store) {
	p := d.o.Paths
	dev = &meta.Store{Kind: meta.Device, RunDir: p.RunDir,
		Persist: d.metaPersist(devMetaVolume, cmp.Or(p.DevMeta, filepath.Join(d.st.Root, "cache", "devmeta")))}
	cfg := d.cfg
	usr = &meta.Store{Kind: meta.User, RunDir: p.RunDir, Persist: d.metaPersist(usrMetaVolume, cmp.Or(p.UsrMeta, filepath.Join(d.st.Root, "cache", "meta"))),
		OnChange: func(key, value string, deleted bool) {
			// Keys that are not configuration keys are plain metadata.
			// Keys that are not configuration keys are plain metadata: the
			// refusal of an unknown key is no error here.
			if deleted {
				_ = cfg.Unset(config.LevelMeta, key)
			} else {
				_ = cfg.Set(config.LevelMeta, key, value)
			}
		}}
	return dev, usr
}

// setMode publishes pantavisor.mode (remote or local).
func (d *Device) setMode(remote bool) {
	if err := d.devmeta.SetMode(remote); err != nil {
		d.log(engine.LevelWarn, "device-meta: "+err.Error())
	}
}

// runHooks runs the system hooks of point op and logs what they printed.
func (d *Device) runHooks(op, status string) error {
	if d.o.Hooks == "" {
		return nil
	}
	env := hooks.Env{Op: op, Rev: d.rev, Status: status, Storage: d.o.Paths.Storage}
	if d.o.Trying {
		env.Try = d.rev
	}
	res, err := hooks.Run(d.o.Hooks, env)
	for _, r := range res {
		d.log(engine.LevelInfo, "hook "+r.Path+": "+string(r.Output))
	}
	if err != nil {
		d.log(engine.LevelError, err.Error())
	}
	return err
}

// startLogs starts the log server on the revision's log tree (a local
// revision logs to logs/locals/<name>, as upstream), from then on the
// device's lines go to it too, and captures the kernel log if asked.
func (d *Device) startLogs() error {
	srv := d.o.Logs
	if srv.StorageLogs == "" {
		srv.StorageLogs = filepath.Join(d.st.Root, "logs")
	}
	srv.Rev = d.rev
	if err := srv.Start(); err != nil {
		return printf.Errorf("log server: %w", err)
	}
	d.logsOn = true
	if d.o.KernelLog {
		if err := srv.Capture(); err != nil {
			d.log(engine.LevelWarn, "kernel log: "+err.Error())
		}
	}
	return nil
}

// consoleWriter sends a container's console to the log server as
// <platform>/lxc/console.log, raw, as upstream's fd subscription does.
type consoleWriter struct {
	srv      *logs.Server
	platform string
}

func (w consoleWriter) Write(p []byte) (int, error) {
	err := w.srv.Write(logs.Message{Proto: logs.Raw, Level: logs.Level(engine.LevelInfo), Platform: w.platform,
		Source: "lxc/console.log", Data: append([]byte(nil), p...)})
	return len(p), err
}
