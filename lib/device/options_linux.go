package device

import (
	"io"
	"os"

	"pantavisor/lib/config"
	"pantavisor/lib/ctrl"
	"pantavisor/lib/disk"
	"pantavisor/lib/hooks"
	"pantavisor/lib/logs"
	"pantavisor/lib/multicall"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/sysinfo"
)

// Mode is how the device runs.
type Mode uint8

// The modes.
const (
	Embedded  Mode = iota // PID 1's main loop: the device's whole userland
	AppEngine             // a normal process on an existing Linux
)

// defaultLogLevel is PV_LOG_LEVEL in upstream's embedded pantavisor.config
// (the code default, 0, would keep only FATAL messages).
const defaultLogLevel = 4

// FromConfig returns the Options of a device in mode, every setting read
// from cfg, which is resolved (defaults, files, command line, overrides
// such as appengine's --storage) before it is called. The modes differ
// here and nowhere else:
//   - Embedded mounts the BSP's firmware and modules, runs the system
//     hooks, captures the kernel log (PV_LOG_CAPTURE_DMESG), makes
//     /dev/log a link to the log server, and binds it into containers
//     per PV_LOG_AUTO_DEVLOG;
//   - AppEngine leaves the BSP, the hooks, the kernel log and /dev/log to
//     the host (containers get the host's /dev/log when it has one), and
//     container names may carry a -<n> suffix.
//
// Both modes get the hub client's options (the nohub build: none).
//
// The caller sets what is not configuration: the revision and its
// bootloader env, the launcher's state dir and cgroup parent, the build
// info, and Engine's timings.
func FromConfig(cfg *config.Config, mode Mode, console io.Writer) (Options, error) {
	p, err := cfg.Paths()
	if err != nil {
		return Options{}, err
	}
	o := Options{Paths: p, Config: cfg, Console: console, NoVerify: !cfg.Get(config.SecurebootChecksum).Bool()}
	if o.Secureboot, err = secureboot(cfg, ctrl.TrustDir); err != nil {
		return Options{}, err
	}
	o.Launch.Host.VolumesDir, o.Launch.Host.ConfigsDir, o.Launch.Host.RunDir = p.Volumes, p.Configs, p.RunDir
	o.Launch.Applets = multicall.Names[:] // this binary's: no `--list` run before the first container
	machine := "unknown"
	if k, err := sysinfo.Uname(); err == nil {
		o.Launch.Host.KernelRelease, machine = k.Release, k.Machine
	}
	o.Disks = disk.Options{MediaDir: cfg.Get(config.SystemMediadir).String(), StorageDir: p.Storage}
	if err := o.Disks.LoadKeyHardware(disk.KeyHardwareFile); err != nil {
		return Options{}, err
	}
	o.Hub = hubOptions(cfg, p, machine, console)
	o.Logs = logServer(cfg, p, console)
	if o.Networks, err = networks(cfg); err != nil && console != nil {
		printf.Fprintf(console, "pantavisor: legacy bridge: %v (it gets no address)\n", err)
	}
	switch mode {
	case Embedded:
		o.BSP = &BSP{VolumesDir: p.Volumes, KernelRelease: o.Launch.Host.KernelRelease}
		o.Hooks = hooks.Dir
		o.KernelLog = cfg.Get(config.LogCaptureDmesg).Bool()
		o.Logs.DevLog = "/dev/log"
		o.Launch.Host.DevLog = cfg.Get(config.LogAutoDevlog).Bool()
	case AppEngine:
		o.AppEngine = true
		_, err := os.Stat("/dev/log")
		o.Launch.Host.DevLog = err == nil
	}
	return o, nil
}

// logLevel is PV_LOG_LEVEL when configured, else the embedded default.
func logLevel(cfg *config.Config) logs.Level {
	v := cfg.Get(config.LogLevel)
	if v.Level() == config.LevelDefault {
		return defaultLogLevel
	}
	return logs.Level(v.Int())
}

// logServer is the log server's configuration: its paths, outputs,
// level, the log dir's budget and rotation, and the time formats.
func logServer(cfg *config.Config, p config.Paths, console io.Writer) *logs.Server {
	size, percent := cfg.Get(config.LogDirMaxsize).Size()
	return &logs.Server{RunDir: p.RunDir, StorageLogs: p.Logs, Stdout: console,
		Outputs: cfg.Get(config.LogServerOutputs).String(), Level: logLevel(cfg),
		DirMaxSize: size, DirMaxPercent: percent,
		HysteresisFactor: cfg.Get(config.LogHysteresisFactor).Int(), RotateFactor: cfg.Get(config.LogRotateFactor).Int(),
		Timestamp:            cfg.Get(config.LogTimestamp).String(),
		FiletreeTimeFormat:   cfg.Get(config.LogFiletreeTimestampFormat).String(),
		SinglefileTimeFormat: cfg.Get(config.LogSinglefileTimestampFormat).String(),
		StdoutTimeFormat:     cfg.Get(config.LogStdoutTimestampFormat).String()}
}

// secureboot is the signature check PV_SECUREBOOT_MODE asks for, with the
// trust stores in dir (PV_SECUREBOOT_TRUSTSTORE and
// PV_SECUREBOOT_OEM_TRUSTSTORE, ".crt" files; pub.pem) and PV_OEM_NAME;
// nil when the mode is disabled. A trust store that does not parse is an
// error: the device must not run with less trust than it was given.
func secureboot(cfg *config.Config, dir string) (*pvs.Options, error) {
	mode, err := pvs.ParseMode(cfg.Get(config.SecurebootMode).String())
	if err != nil || mode == pvs.Disabled {
		return nil, err
	}
	trust, err := pvs.LoadTrust(dir, cfg.Get(config.SecurebootTruststore).String()+".crt",
		cfg.Get(config.SecurebootOEMTruststore).String()+".crt")
	if err != nil {
		return nil, printf.Errorf("secureboot trust stores in %s: %w", dir, err)
	}
	trust.OEMName = cfg.Get(config.OEMName).String()
	return &pvs.Options{Mode: mode, Trust: trust}, nil
}
