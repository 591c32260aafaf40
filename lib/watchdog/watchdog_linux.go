// Package watchdog drives the hardware watchdog (/dev/watchdog) as
// upstream does: armed with PV_WDT_TIMEOUT, kept alive from the main loop,
// disarmed with the magic close on a clean stop, per PV_WDT_MODE.
package watchdog

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// Modes of PV_WDT_MODE: when the watchdog is armed.
const (
	Disabled = "disabled" // never
	Shutdown = "shutdown" // only once a reboot is issued: a stuck shutdown resets the board
	Startup  = "startup"  // from the main loop's start to the end of the first run
	Always   = "always"   // from the start, never disarmed
)

// Watchdog is an open watchdog device. The zero value is not armed.
type Watchdog struct {
	f *os.File
	// ioctl is the seam tests replace; it is unix.IoctlSetPointerInt by default.
	ioctl func(fd int, req uint, value int) error
}

// Open arms the watchdog at path with timeout (rounded to seconds).
// Opening the device starts the countdown; Kick must follow in time.
func Open(path string, timeout time.Duration) (*Watchdog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, printf.Errorf("watchdog: %w", err)
	}
	w := &Watchdog{f: f, ioctl: unix.IoctlSetPointerInt}
	if err := w.ioctl(int(f.Fd()), unix.WDIOC_SETTIMEOUT, int(timeout/time.Second)); err != nil {
		// The device keeps its default timeout; still armed and usable.
		return w, printf.Errorf("watchdog: setting timeout %s: %w", timeout, err)
	}
	return w, nil
}

// Kick restarts the countdown (WDIOC_KEEPALIVE).
func (w *Watchdog) Kick() error {
	if w == nil || w.f == nil {
		return nil
	}
	if err := w.ioctl(int(w.f.Fd()), unix.WDIOC_KEEPALIVE, 0); err != nil {
		return printf.Errorf("watchdog: keepalive: %w", err)
	}
	return nil
}

// Close disarms the watchdog: the magic character 'V' then close. Drivers
// without magic close support stay armed (nowayout): the board resets.
func (w *Watchdog) Close() error {
	if w == nil || w.f == nil {
		return nil
	}
	_, err := w.f.Write([]byte("V"))
	cerr := w.f.Close()
	w.f = nil
	if err != nil {
		return printf.Errorf("watchdog: magic close: %w", err)
	}
	return cerr
}

// ArmedAtStart reports whether a mode arms the watchdog when the main
// loop starts.
func ArmedAtStart(mode string) bool { return mode == Startup || mode == Always }

// ArmedAtShutdown reports whether a mode arms (or keeps) the watchdog
// when a reboot is issued.
func ArmedAtShutdown(mode string) bool { return mode != Disabled && mode != "" }
