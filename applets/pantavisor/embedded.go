package pantavisor

import (
	"context"
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
	"pantavisor/lib/debugshell"
	"pantavisor/lib/device"
	"pantavisor/lib/early"
	"pantavisor/lib/engine"
	"pantavisor/lib/pid1"
	"pantavisor/lib/printf"
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
	view := &debugshell.View{W: console} // held while a debug shell owns the console
	console = view
	logf := func(format string, args ...any) { printf.Fprintf(console, "pantavisor: "+format+"\n", args...) }
	cl, _ := readCmdline()
	cfg := loadConfig(cl, logf)
	mountCgroups(logf)
	spec := cfg.Get(config.StorageDevice).String()
	if spec == "" {
		spec = "LABEL=pvstorage"
	}
	o, err := device.FromConfig(cfg, device.Embedded, console)
	if err != nil {
		logf("%v", err)
		return pid1.MainReboot
	}
	storageDir := o.Paths.Storage
	dev, err := device.MountStorage(blkid.Finder{}, spec, storageDir, cfg.Get(config.StorageWait).Duration())
	if err != nil {
		logf("%v", err)
		return pid1.MainReboot
	}
	logf("storage %s mounted from %s", spec, dev)
	pid1.RecordCrashes(console, storageDir)
	kind := cfg.Get(config.BootloaderType).String()
	bo, bootDir, err := device.MountBootLatch(blkid.Finder{}, kind, cfg.Get(config.BootloaderUbootLatch).String(),
		device.BootDir, cfg.Get(config.StorageWait).Duration())
	if err != nil {
		logf("%v", err)
	} else if bootDir != "" {
		logf("boot partition %s mounted on %s: try-boot latch %s", cfg.Get(config.BootloaderUbootLatch), bootDir, bo.UbootLatch)
	}
	o.Boot, o.Rev, o.Trying = pid1.ChooseRevision(console, bo, kind, cl, storageDir)
	o.BuildInfo = buildInfo()
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	if o.KernelLog {
		// The kernel log is in pantavisor/dmesg now: keep only warnings and
		// worse on the console, so kernel lines stop splitting ours.
		if err := os.WriteFile("/proc/sys/kernel/printk", []byte("4"), 0o644); err != nil {
			logf("printk: %v", err)
		}
	}
	test, _ := cl.Get("pv_test")
	obs := &embedded{logf: logf, wdt: startWatchdog(cfg, test, console), testPowerOff: test == "ready-poweroff", stop: stop}
	var d *device.Device
	sh, err := debugshell.FromConfig(cfg, view, func() string { return d.Mgmt() })
	if err != nil {
		logf("%v", err)
	}
	d, err = device.New(o, withShell(obs, sh))
	var out engine.Outcome
	if err == nil {
		stopShell := runShell(ctx, sh)
		out, err = d.Run(ctx)
		stopShell()
	} else {
		obs.Exit(out, err)
	}
	pid1.UnmountBoot(console, bootDir)
	pid1.UnmountStorage(console, storageDir)
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

// embedded is the main loop's view of the device (device.Observer).
type embedded struct {
	logf         func(string, ...any)
	wdt          *pid1.Watchdog
	testPowerOff bool // pv_test=ready-poweroff
	stop         context.CancelFunc
}

// Status prints the memory figures once READY and stops under
// pv_test=ready-poweroff.
func (m *embedded) Status(s engine.Status) {
	if s != engine.Ready {
		return
	}
	m.logf("memory: PID 1 %s, main loop %s", memLine("/proc/1"), memLine("/proc/self"))
	if m.testPowerOff {
		m.logf("pv_test=ready-poweroff: stopping")
		m.stop()
	}
}

// memLine is a process's memory for the READY line: VmRSS, then Pss with
// its anonymous and file-backed parts (the binary's pages are shared
// between PID 1 and the main loop, so Pss splits them).
func memLine(proc string) string {
	roll := proc + "/smaps_rollup"
	return "VmRSS " + pid1.ProcField(proc+"/status", "VmRSS:") + " Pss " + pid1.ProcField(roll, "Pss:") +
		" (anon " + pid1.ProcField(roll, "Pss_Anon:") + ", file " + pid1.ProcField(roll, "Pss_File:") + ")"
}

// Tick keeps the watchdog alive.
func (m *embedded) Tick() { m.wdt.Tick() }

// Exit disarms the watchdog or keeps it armed for the shutdown, per mode.
func (m *embedded) Exit(out engine.Outcome, err error) {
	m.wdt.End(out.Action == engine.Exit && err == nil)
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
func startWatchdog(cfg *config.Config, test string, console io.Writer) *pid1.Watchdog {
	w := &pid1.Watchdog{Mode: cfg.Get(config.WDTMode).String(), Timeout: cfg.Get(config.WDTTimeout).Duration(),
		Hang: test == "wdt-hang", Console: console}
	w.Start()
	return w
}
