package pid1

import (
	"io"
	"time"

	"pantavisor/lib/watchdog"
)

// WatchdogDevice is an armed watchdog: *watchdog.Watchdog on a device.
type WatchdogDevice interface {
	Kick() error
	Close() error
}

// Watchdog is the main loop's watchdog per PV_WDT_MODE (the modes of
// lib/watchdog): Start arms it when the mode arms at start, Tick keeps it
// alive from the engine's loop, End disarms or keeps it for the shutdown.
// Set the fields in the struct literal; the zero value is disabled.
type Watchdog struct {
	Mode    string        // PV_WDT_MODE
	Timeout time.Duration // PV_WDT_TIMEOUT
	// Hang is pv_test=wdt-hang: Tick hangs instead of kicking, to prove
	// that the watchdog resets the board.
	Hang bool
	// Console receives every message; nil drops them.
	Console io.Writer
	// Path is the device, /dev/watchdog when "".
	Path string
	// Open arms the device; watchdog.Open when nil.
	Open func(path string, timeout time.Duration) (WatchdogDevice, error)

	dev WatchdogDevice // armed, or nil
}

// Armed reports whether the watchdog is open (counting down).
func (s *Watchdog) Armed() bool { return s.dev != nil }

// Start arms the watchdog if the mode arms it at the main loop's start
// (startup, always). A failure is reported on the console and leaves it
// disarmed; a device that refused the timeout stays armed with its own.
func (s *Watchdog) Start() {
	if watchdog.ArmedAtStart(s.Mode) {
		s.open()
	}
}

func (s *Watchdog) open() {
	path := s.Path
	if path == "" {
		path = "/dev/watchdog"
	}
	var w WatchdogDevice
	var err error
	if s.Open != nil {
		w, err = s.Open(path, s.Timeout)
	} else {
		w, err = openDevice(path, s.Timeout)
	}
	if err != nil {
		say(s.Console, "%v", err)
	}
	if w != nil {
		s.dev = w
		say(s.Console, "watchdog armed (%s, mode %s)", s.Timeout, s.Mode)
	}
}

// openDevice is watchdog.Open without a typed nil in the interface.
func openDevice(path string, timeout time.Duration) (WatchdogDevice, error) {
	w, err := watchdog.Open(path, timeout)
	if w == nil {
		return nil, err
	}
	return w, err
}

// Tick keeps the watchdog alive from the engine's loop; a disarmed one
// does nothing. Under Hang an armed watchdog makes Tick hang forever
// instead, as a stuck engine would.
func (s *Watchdog) Tick() {
	if s.dev == nil {
		return
	}
	if s.Hang {
		say(s.Console, "pv_test=wdt-hang: main loop hangs, the watchdog must reset the board")
		select {}
	}
	if err := s.dev.Kick(); err != nil {
		say(s.Console, "%v", err)
	}
}

// End is called once the main loop has stopped, clean or not. An unclean
// end (a reboot follows) arms a disarmed watchdog in the modes that arm
// at shutdown, so a stuck shutdown resets the board, and keeps an armed
// one. A clean end disarms it (magic close), except in mode always.
func (s *Watchdog) End(clean bool) {
	if watchdog.ArmedAtShutdown(s.Mode) && s.dev == nil && !clean {
		s.open()
		return
	}
	if s.Mode == watchdog.Always || !clean || s.dev == nil {
		return
	}
	if err := s.dev.Close(); err != nil {
		say(s.Console, "%v", err)
	}
	s.dev = nil
}
