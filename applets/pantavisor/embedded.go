package pantavisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/blkid"
	"pantavisor/lib/cgroup"
	"pantavisor/lib/cmdline"
	"pantavisor/lib/config"
	"pantavisor/lib/device"
	"pantavisor/lib/early"
	"pantavisor/lib/engine"
	"pantavisor/lib/hooks"
	"pantavisor/lib/logs"
	"pantavisor/lib/pid1"
	"pantavisor/lib/sysinfo"
)

// mainLoop is the embedded engine: configuration (defaults, config file,
// kernel cmdline), the cgroup hierarchy, the storage, then the revision
// the bootloader chose (pv_try, else pv_rev). It returns its exit code.
func mainLoop(console io.Writer) int {
	// A long-running daemon on small devices: collect more often than
	// Go's default (GOGC=100) to keep the heap, and so RSS, small. An
	// explicit GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(console, "pantavisor: "+format+"\n", args...) }
	cl, _ := readCmdline()
	cfg := loadConfig(cl, logf)
	mountCgroups(logf)
	spec := cfg.String("PV_STORAGE_DEVICE")
	if spec == "" {
		spec = "LABEL=pvstorage"
	}
	storageDir := "/storage"
	dev, err := device.MountStorage(blkid.Finder{}, spec, storageDir, cfg.Duration("PV_STORAGE_WAIT"))
	if err != nil {
		logf("%v", err)
		return pid1.MainReboot
	}
	logf("storage %s mounted from %s", spec, dev)
	pid1.RecordCrashes(console, storageDir)
	boot, rev, trying := pid1.ChooseRevision(console, cfg.String("PV_BOOTLOADER_TYPE"), cl, storageDir)
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	testPowerOff := false
	if v, _ := cl.Get("pv_test"); v == "ready-poweroff" {
		testPowerOff = true
	}
	o := device.Options{Storage: storageDir, Rev: rev, Trying: trying, Boot: boot, RunDir: "/run/pantavisor/pv",
		NoVerify: !cfg.Bool("PV_SECUREBOOT_CHECKSUM")}
	if k, err := sysinfo.Uname(); err == nil {
		o.Launch.Host.KernelRelease = k.Release
	}
	// Our log server links /dev/log to pv-ctrl-log; containers get it
	// bound unless PV_LOG_AUTO_DEVLOG=0 or their run.json says "dev-log": false.
	o.Launch.Host.DevLog = cfg.Bool("PV_LOG_AUTO_DEVLOG")
	o.BSP = &device.BSP{VolumesDir: "/volumes", KernelRelease: o.Launch.Host.KernelRelease}
	o.Hooks = hooks.Dir
	o.Config = cfg
	o.BuildInfo = buildInfo()
	if trying {
		o.Try = rev
	}
	o.Engine.Log = func(l engine.Level, msg string) { logf("%s", msg) }
	o.Engine.OnStatus = func(s engine.Status) {
		if s == engine.Ready {
			logf("memory: PID 1 VmRSS %s Pss %s, main loop VmRSS %s Pss %s",
				pid1.ProcField("/proc/1/status", "VmRSS:"), pid1.ProcField("/proc/1/smaps_rollup", "Pss:"),
				pid1.ProcField("/proc/self/status", "VmRSS:"), pid1.ProcField("/proc/self/smaps_rollup", "Pss:"))
		}
		if s == engine.Ready && testPowerOff {
			logf("pv_test=ready-poweroff: stopping")
			stop()
		}
	}
	o.Logs = &logs.Server{RunDir: o.RunDir, DevLog: "/dev/log", Outputs: cfg.String("PV_LOG_SERVER_OUTPUTS"),
		Level: logLevel(cfg)}
	o.KernelLog = cfg.Bool("PV_LOG_CAPTURE_DMESG")
	if o.KernelLog {
		// The kernel log is in pantavisor/dmesg now: keep only warnings and
		// worse on the console, so kernel lines stop splitting ours.
		os.WriteFile("/proc/sys/kernel/printk", []byte("4"), 0o644)
	}
	wdt := startWatchdog(cfg, cl, console)
	o.Engine.OnTick = wdt.Tick
	out, err := device.Run(ctx, o)
	pid1.UnmountStorage(console, storageDir)
	wdt.End(out.Action == engine.Exit && err == nil)
	if err != nil {
		logf("%v", err)
		return pid1.MainReboot
	}
	switch out.Action {
	case engine.Reboot:
		return pid1.MainReboot
	case engine.Rollback:
		return pid1.MainRollback
	}
	return pid1.MainPowerOff
}

// loadConfig reads the configuration levels available at boot.
func loadConfig(cl cmdline.Cmdline, logf func(string, ...any)) *config.Config {
	cfg := config.New()
	if warns, err := cfg.LoadFile(config.LevelPVConf, "/etc/pantavisor.config"); err == nil {
		for _, w := range warns {
			logf("config: %v", w)
		}
	}
	for _, w := range cfg.LoadCmdline(cl) {
		if !strings.Contains(w.Error(), "unknown") {
			logf("config: %v", w)
		}
	}
	return cfg
}

// mountCgroups builds upstream's hybrid hierarchy (v1 controllers and
// named hierarchies, cgroup2 at unified), or pure v2 without v1.
func mountCgroups(logf func(string, ...any)) {
	subsys, err := cgroup.ReadCgroups("/proc/cgroups")
	mode := cgroup.Hybrid
	if err != nil || len(subsys) == 0 {
		mode = cgroup.Unified
	}
	creators, err := cgroup.Mounts(mode, "/sys/fs/cgroup", subsys)
	if err != nil {
		logf("cgroups: %v", err)
		return
	}
	for _, f := range early.Run(creators) {
		logf("cgroups: %v", f)
	}
}

// startWatchdog arms the watchdog per PV_WDT_MODE and PV_WDT_TIMEOUT;
// pv_test=wdt-hang makes its Tick hang.
func startWatchdog(cfg *config.Config, cl cmdline.Cmdline, console io.Writer) *pid1.Watchdog {
	test, _ := cl.Get("pv_test")
	w := &pid1.Watchdog{Mode: cfg.String("PV_WDT_MODE"), Timeout: cfg.Duration("PV_WDT_TIMEOUT"),
		Hang: test == "wdt-hang", Console: console}
	w.Start()
	return w
}

// embeddedLogLevel is PV_LOG_LEVEL in upstream's embedded pantavisor.config
// (the code default, 0, would keep only FATAL messages).
const embeddedLogLevel = 4

// logLevel is PV_LOG_LEVEL when configured, else the embedded default.
func logLevel(cfg *config.Config) logs.Level {
	if cfg.Level("PV_LOG_LEVEL") == config.LevelDefault {
		return embeddedLogLevel
	}
	return logs.Level(cfg.Int("PV_LOG_LEVEL"))
}
