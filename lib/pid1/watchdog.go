package pid1

import (
	"time"

	"pantavisor/lib/cmdline"
	"pantavisor/lib/config"
	"pantavisor/lib/watchdog"
)

// Watchdog is the main loop's watchdog per PV_WDT_MODE.
type Watchdog struct {
	mode    string
	timeout time.Duration
	w       *watchdog.Watchdog
	hang    bool // pv_test=wdt-hang: stop kicking, to prove the reset
	logf    func(string, ...any)
}

// StartWatchdog arms the watchdog if PV_WDT_MODE says so at start.
func StartWatchdog(cfg *config.Config, cl cmdline.Cmdline, logf func(string, ...any)) *Watchdog {
	s := &Watchdog{mode: cfg.String("PV_WDT_MODE"), timeout: cfg.Duration("PV_WDT_TIMEOUT"), logf: logf}
	if v, _ := cl.Get("pv_test"); v == "wdt-hang" {
		s.hang = true
	}
	if watchdog.ArmedAtStart(s.mode) {
		s.open()
	}
	return s
}

func (s *Watchdog) open() {
	w, err := watchdog.Open("/dev/watchdog", s.timeout)
	if err != nil {
		s.logf("%v", err)
	}
	if w != nil {
		s.w = w
		s.logf("watchdog armed (%s, mode %s)", s.timeout, s.mode)
	}
}

// Tick keeps the watchdog alive from the engine's loop. Under
// pv_test=wdt-hang the loop hangs here instead, as a stuck engine would.
func (s *Watchdog) Tick() {
	if s.hang && s.w != nil {
		s.logf("pv_test=wdt-hang: main loop hangs, the watchdog must reset the board")
		select {}
	}
	if err := s.w.Kick(); err != nil {
		s.logf("%v", err)
	}
}

// End disarms on a clean stop unless the mode keeps it armed for the
// shutdown that follows (a stuck shutdown then resets the board).
func (s *Watchdog) End(clean bool) {
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
