package pid1

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
	"pantavisor/lib/watchdog"
)

// fakeDog records what the main loop does to the watchdog device.
type fakeDog struct {
	opens     []string // "path timeout"
	kicks     int
	closes    int
	openErr   error
	kickErr   error
	refuse    bool // Open fails without a device
	closeFail bool
}

func (d *fakeDog) Kick() error { d.kicks++; return d.kickErr }
func (d *fakeDog) Close() error {
	d.closes++
	if d.closeFail {
		return errors.New("magic close: EIO")
	}
	return nil
}

func (d *fakeDog) watchdog(mode string, hang bool, console *bytes.Buffer) *Watchdog {
	return &Watchdog{Mode: mode, Timeout: 15 * time.Second, Hang: hang, Console: console,
		Open: func(path string, timeout time.Duration) (WatchdogDevice, error) {
			d.opens = append(d.opens, path+" "+timeout.String())
			if d.refuse {
				return nil, d.openErr
			}
			return d, d.openErr
		}}
}

// TestWatchdogModes: per PV_WDT_MODE, the watchdog is armed at the start
// or not, kicked on every tick while armed, and at the end disarmed (a
// clean stop) or kept or armed for the shutdown (a reboot follows).
func TestWatchdogModes(t *testing.T) {
	for _, tc := range []struct {
		mode       string
		clean      bool
		atStart    bool // armed by Start
		kicks      int  // of two ticks
		opens      int  // in all
		closes     int  // magic closes at the end
		armedAtEnd bool
	}{
		{"", true, false, 0, 0, 0, false},
		{"", false, false, 0, 0, 0, false},
		{watchdog.Disabled, true, false, 0, 0, 0, false},
		{watchdog.Disabled, false, false, 0, 0, 0, false},
		{watchdog.Shutdown, true, false, 0, 0, 0, false},
		{watchdog.Shutdown, false, false, 0, 1, 0, true},
		{watchdog.Startup, true, true, 2, 1, 1, false},
		{watchdog.Startup, false, true, 2, 1, 0, true},
		{watchdog.Always, true, true, 2, 1, 0, true},
		{watchdog.Always, false, true, 2, 1, 0, true},
	} {
		d := &fakeDog{}
		var out bytes.Buffer
		w := d.watchdog(tc.mode, false, &out)
		w.Start()
		assert.Equal(t, tc.atStart, w.Armed(), "%q start", tc.mode)
		w.Tick()
		w.Tick()
		assert.Equal(t, tc.kicks, d.kicks, "%q kicks", tc.mode)
		w.End(tc.clean)
		assert.Len(t, d.opens, tc.opens, "%q clean=%t opens", tc.mode, tc.clean)
		assert.Equal(t, tc.closes, d.closes, "%q clean=%t closes", tc.mode, tc.clean)
		assert.Equal(t, tc.armedAtEnd, w.Armed(), "%q clean=%t armed at end", tc.mode, tc.clean)
		if tc.opens > 0 {
			assert.Equal(t, "/dev/watchdog 15s", d.opens[0])
			assert.Contains(t, out.String(), "pantavisor: watchdog armed (15s, mode "+tc.mode+")\n")
		} else {
			assert.Empty(t, out.String(), "%q", tc.mode)
		}
	}
}

// TestWatchdogErrors: failures are reported and never stop the main loop;
// a device that refused the timeout stays armed and is kicked.
func TestWatchdogErrors(t *testing.T) {
	d := &fakeDog{refuse: true, openErr: errors.New("watchdog: no such device")}
	var out bytes.Buffer
	w := d.watchdog(watchdog.Startup, false, &out)
	w.Start()
	assert.False(t, w.Armed())
	w.Tick()
	assert.Equal(t, 0, d.kicks)
	assert.Equal(t, "pantavisor: watchdog: no such device\n", out.String())

	d = &fakeDog{openErr: errors.New("watchdog: setting timeout 15s: ENOTTY"),
		kickErr: errors.New("watchdog: keepalive: EIO"), closeFail: true}
	out.Reset()
	w = d.watchdog(watchdog.Startup, false, &out)
	w.Start()
	assert.True(t, w.Armed())
	w.Tick()
	w.End(true)
	assert.Equal(t, 1, d.kicks)
	assert.Equal(t, 1, d.closes)
	assert.Equal(t, "pantavisor: watchdog: setting timeout 15s: ENOTTY\n"+
		"pantavisor: watchdog armed (15s, mode startup)\n"+
		"pantavisor: watchdog: keepalive: EIO\n"+
		"pantavisor: magic close: EIO\n", out.String())
}

// TestWatchdogHang: pv_test=wdt-hang makes an armed watchdog's Tick hang
// instead of kicking; without a device it kicks nothing and returns.
func TestWatchdogHang(t *testing.T) {
	d := &fakeDog{}
	var out testenv.Buffer
	w := &Watchdog{Mode: watchdog.Always, Hang: true, Console: &out,
		Open: func(string, time.Duration) (WatchdogDevice, error) { return d, nil }}
	w.Start()
	returned := make(chan struct{})
	go func() { w.Tick(); close(returned) }() // hangs for the test binary's life
	require.Eventually(t, func() bool {
		return strings.Contains(out.String(), "pv_test=wdt-hang: main loop hangs")
	}, 5*time.Second, time.Millisecond)
	select {
	case <-returned:
		t.Fatal("Tick returned under wdt-hang")
	case <-time.After(50 * time.Millisecond):
	}
	assert.Equal(t, 0, d.kicks)

	idle := &Watchdog{Mode: watchdog.Disabled, Hang: true}
	idle.Start()
	idle.Tick() // returns: nothing is armed
	assert.False(t, idle.Armed())
}

// TestWatchdogRealDevice: the default Open is watchdog.Open on Path; a
// missing device leaves it disarmed and says why.
func TestWatchdogRealDevice(t *testing.T) {
	var out bytes.Buffer
	w := &Watchdog{Mode: watchdog.Startup, Timeout: time.Second, Console: &out,
		Path: filepath.Join(t.TempDir(), "watchdog")}
	w.Start()
	assert.False(t, w.Armed())
	assert.Contains(t, out.String(), "no such file or directory")
}
