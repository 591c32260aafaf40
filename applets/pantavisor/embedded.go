package pantavisor

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/blkid"
	"pantavisor/lib/bootloader"
	"pantavisor/lib/cgroup"
	"pantavisor/lib/cmdline"
	"pantavisor/lib/config"
	"pantavisor/lib/device"
	"pantavisor/lib/early"
	"pantavisor/lib/engine"
	"pantavisor/lib/hooks"
	"pantavisor/lib/logs"
	"pantavisor/lib/mount"
	"pantavisor/lib/power"
	"pantavisor/lib/sysinfo"
	"pantavisor/lib/watchdog"
)

// mainArg runs the main loop: PID 1 forks it and only reaps, as upstream
// forks pv-main-loop. Containers are the main loop's children, so PID 1's
// wait4(-1) reaper never steals an exit status os/exec waits for.
const mainArg = "--main-loop"

// Exit codes of the main loop, read by PID 1.
const (
	mainPowerOff = 0 // stop requested and done (pv_test=ready-poweroff)
	mainReboot   = 3 // the engine asks for a reboot
	mainRollback = 4 // the revision under test failed
)

// startMainLoop forks and execs the main loop with the console as stdio.
// It uses ForkExec, not os/exec: PID 1 reaps every child itself.
func startMainLoop(console *os.File) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	fd := console.Fd()
	return syscall.ForkExec(exe, []string{"pantavisor", mainArg}, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{fd, fd, fd}})
}

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
		return mainReboot
	}
	logf("storage %s mounted from %s", spec, dev)
	recordCrashes(storageDir, logf)
	boot, rev, trying := chooseRevision(cfg, cl, storageDir, logf)
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	testPowerOff := false
	if v, _ := cl.Get("pv_test"); v == "ready-poweroff" {
		testPowerOff = true
	}
	o := device.Options{Storage: storageDir, Rev: rev, Trying: trying, Boot: boot, RunDir: "/run/pantavisor/pv",
		NoVerify: !cfg.Bool("PV_SECUREBOOT_CHECKSUM"), Console: console}
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
	o.Logs = &logs.Server{RunDir: o.RunDir, DevLog: "/dev/log", Outputs: cfg.String("PV_LOG_SERVER_OUTPUTS"),
		Level: logLevel(cfg)}
	o.KernelLog = cfg.Bool("PV_LOG_CAPTURE_DMESG")
	if o.KernelLog {
		// The kernel log is in pantavisor/dmesg now: keep only warnings and
		// worse on the console, so kernel lines stop splitting ours.
		os.WriteFile("/proc/sys/kernel/printk", []byte("4"), 0o644)
	}
	obs := &embedded{logf: logf, wdt: startWatchdog(cfg, cl, logf), testPowerOff: testPowerOff, stop: stop}
	d, err := device.New(o, obs)
	var out engine.Outcome
	if err == nil {
		out, err = d.Run(ctx)
	} else {
		obs.Exit(out, err)
	}
	unmountStorage(storageDir, logf)
	if err != nil {
		logf("%v", err)
		return mainReboot
	}
	switch out.Action {
	case engine.Reboot:
		return mainReboot
	case engine.Rollback:
		return mainRollback
	}
	return mainPowerOff
}

// embedded is the main loop's view of the device (device.Observer).
type embedded struct {
	logf         func(string, ...any)
	wdt          *wdtState
	testPowerOff bool // pv_test=ready-poweroff
	stop         context.CancelFunc
}

// Status prints the memory figures once READY and stops under
// pv_test=ready-poweroff.
func (m *embedded) Status(s engine.Status) {
	if s != engine.Ready {
		return
	}
	m.logf("memory: PID 1 VmRSS %s Pss %s, main loop VmRSS %s Pss %s",
		procField("/proc/1/status", "VmRSS:"), procField("/proc/1/smaps_rollup", "Pss:"),
		procField("/proc/self/status", "VmRSS:"), procField("/proc/self/smaps_rollup", "Pss:"))
	if m.testPowerOff {
		m.logf("pv_test=ready-poweroff: stopping")
		m.stop()
	}
}

// Tick keeps the watchdog alive.
func (m *embedded) Tick() { m.wdt.tick() }

// Exit disarms the watchdog or keeps it armed for the shutdown, per mode.
func (m *embedded) Exit(out engine.Outcome, err error) {
	m.wdt.end(out.Action == engine.Exit && err == nil)
}

// chooseRevision opens the bootloader env (PV_BOOTLOADER_TYPE: grub keeps
// boot/grubenv and GRUB's latch env boot/grub/grubenv) and returns the
// revision to run and whether it is a try. A kernel started without a
// bootloader (QEMU -kernel: no pv_rev on the command line) uses the
// direct env and runs the one-shot latch itself. On an error the
// revision is still the one to run (bootloader.Boot.Choose).
func chooseRevision(cfg *config.Config, cl cmdline.Cmdline, storage string, logf func(string, ...any)) (*bootloader.Boot, string, bool) {
	kind := cfg.String("PV_BOOTLOADER_TYPE")
	if _, ok := cl.Get(bootloader.KeyRev); !ok {
		kind = bootloader.KindDirect
	}
	b, err := bootloader.Options{}.OpenBoot(kind, storage)
	if err != nil {
		logf("bootloader env (%s): %v", kind, err)
	}
	if b == nil {
		rev, _ := cl.Get(bootloader.KeyRev)
		return nil, rev, false
	}
	rev, trying, err := choose(b, storage, cl)
	if err != nil {
		logf("bootloader: %v", err)
	}
	logf("bootloader %s: running revision %s (trying %t, committed %s)", kind, rev, trying, b.Committed())
	return b, rev, trying
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

// superviseArg re-executes PID 1 as the supervisor of a running main
// loop: "--supervise <pid>".
const superviseArg = "--supervise"

// superviseMainLoop is PID 1's life after boot: start the main loop, then
// re-execute itself as its supervisor (see supervise), falling back to
// supervising in place if the exec fails.
func superviseMainLoop(console *os.File, sigs <-chan os.Signal) {
	pid, err := startMainLoop(console)
	if err != nil {
		fmt.Fprintf(console, "pantavisor: starting the main loop: %v\n", err)
		time.Sleep(time.Second)
		halt(console, power.Restart)
	}
	// The boot (early mounts, module loading) mapped pages of the binary
	// that PID 1 never runs again; a fresh image keeps only what reaping
	// needs, about 1.5 MB less RSS for the device's lifetime. The main
	// loop boots meanwhile. A SIGTERM sent to PID 1 during the exec is
	// lost (PID 1 ignores signals it has no handler for); a child that
	// exits then is reaped by the new image's first sweep.
	err = unix.Exec("/proc/self/exe", []string{os.Args[0], superviseArg, strconv.Itoa(pid)}, os.Environ())
	fmt.Fprintf(console, "pantavisor: re-executing as supervisor: %v (supervising in place)\n", err)
	supervise(console, pid, sigs)
}

// superviseMain is PID 1 after the re-exec: args are superviseArg's.
func superviseMain(args []string, console *os.File) {
	defer restartOnPanic(console)
	sigs := pid1Signals()
	pid := 0
	if len(args) > 0 {
		pid, _ = strconv.Atoi(args[0])
	}
	if pid <= 0 {
		fmt.Fprintf(console, "pantavisor: %s: bad main loop pid %q: rebooting\n", superviseArg, args)
		halt(console, power.Restart)
	}
	if ws, done := reapUntil(pid); done { // exits during the exec
		halt(console, mainExitAction(console, ws))
	}
	supervise(console, pid, sigs)
}

// supervise reaps every child; when the main loop (pid) ends, it powers
// off or reboots as its exit code says; a signal to PID 1 is passed on to
// the main loop, whose end then decides.
func supervise(console *os.File, pid int, sigs <-chan os.Signal) {
	for sig := range sigs {
		switch sig {
		case unix.SIGCHLD:
			if ws, done := reapUntil(pid); done {
				halt(console, mainExitAction(console, ws))
			}
		case unix.SIGTERM, unix.SIGINT, unix.SIGUSR2:
			unix.Kill(pid, unix.SIGTERM)
		}
	}
}

// reapUntil reaps every exited child; done is true (with its status)
// when the main loop was among them.
func reapUntil(main int) (unix.WaitStatus, bool) {
	var mainWS unix.WaitStatus
	found := false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return mainWS, found
		}
		if pid == main {
			mainWS, found = ws, true
		}
	}
}

// mainExitAction turns the main loop's end into what PID 1 does.
func mainExitAction(console io.Writer, ws unix.WaitStatus) power.Action {
	switch {
	case ws.Signaled():
		fmt.Fprintf(console, "pantavisor: main loop killed by %v: rebooting\n", ws.Signal())
		return power.Restart
	case ws.ExitStatus() == mainPowerOff:
		return power.PowerOff
	case ws.ExitStatus() == mainRollback:
		fmt.Fprintln(console, "pantavisor: revision failed: rebooting to roll back")
		return power.Restart
	}
	fmt.Fprintf(console, "pantavisor: main loop exited with %d: rebooting\n", ws.ExitStatus())
	return power.Restart
}

// wdtState is the main loop's watchdog per PV_WDT_MODE.
type wdtState struct {
	mode    string
	timeout time.Duration
	w       *watchdog.Watchdog
	hang    bool // pv_test=wdt-hang: stop kicking, to prove the reset
	logf    func(string, ...any)
}

func startWatchdog(cfg *config.Config, cl cmdline.Cmdline, logf func(string, ...any)) *wdtState {
	s := &wdtState{mode: cfg.String("PV_WDT_MODE"), timeout: cfg.Duration("PV_WDT_TIMEOUT"), logf: logf}
	if v, _ := cl.Get("pv_test"); v == "wdt-hang" {
		s.hang = true
	}
	if watchdog.ArmedAtStart(s.mode) {
		s.open()
	}
	return s
}

func (s *wdtState) open() {
	w, err := watchdog.Open("/dev/watchdog", s.timeout)
	if err != nil {
		s.logf("%v", err)
	}
	if w != nil {
		s.w = w
		s.logf("watchdog armed (%s, mode %s)", s.timeout, s.mode)
	}
}

// tick keeps the watchdog alive from the engine's loop. Under
// pv_test=wdt-hang the loop hangs here instead, as a stuck engine would.
func (s *wdtState) tick() {
	if s.hang && s.w != nil {
		s.logf("pv_test=wdt-hang: main loop hangs, the watchdog must reset the board")
		select {}
	}
	if err := s.w.Kick(); err != nil {
		s.logf("%v", err)
	}
}

// end disarms on a clean stop unless the mode keeps it armed for the
// shutdown that follows (a stuck shutdown then resets the board).
func (s *wdtState) end(clean bool) {
	if watchdog.ArmedAtShutdown(s.mode) && s.w == nil && !clean {
		s.open()
		return
	}
	if s.mode == watchdog.Always || !clean {
		return
	}
	if err := s.w.Close(); err != nil {
		s.logf("%v", err)
	}
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

// procField returns the value of the "<field>" line of a /proc file.
func procField(path, field string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// unmountStorage flushes and unmounts the storage before PID 1 powers off
// or reboots; a busy mount is detached (the kernel finishes it).
func unmountStorage(dir string, logf func(string, ...any)) {
	debug.SetCrashOutput(nil, debug.CrashOptions{}) // release crash.log
	unix.Sync()
	if err := mount.Unmount(dir, 0); err != nil {
		logf("unmounting %s: %v; detaching it", dir, err)
		mount.Unmount(dir, unix.MNT_DETACH)
		return
	}
	logf("storage unmounted")
}

// recordCrashes makes the Go runtime copy a fatal panic's report (from
// any goroutine) to /storage/logs/crash.log as well as the console, so the
// reason survives the reboot PID 1 then does.
func recordCrashes(storage string, logf func(string, ...any)) {
	dir := filepath.Join(storage, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("crash log: %v", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "crash.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		logf("crash log: %v", err)
		return
	}
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		logf("crash log: %v", err)
	}
	f.Close() // SetCrashOutput keeps its own duplicate
}

// restartOnPanic, deferred by PID 1's entry points, prints a panic and
// restarts the machine: PID 1 must never exit.
func restartOnPanic(console io.Writer) {
	if r := recover(); r != nil {
		fmt.Fprintf(console, "pantavisor: PANIC: %v\n%s\n", r, debug.Stack())
		halt(console, power.Restart)
	}
}

// pid1Signals subscribes to the signals PID 1 handles.
func pid1Signals() chan os.Signal {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGCHLD, unix.SIGHUP)
	return sigs
}
