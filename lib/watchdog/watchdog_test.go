package watchdog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestOpenKickClose(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "watchdog")
	require.NoError(t, os.WriteFile(dev, nil, 0o600))
	var calls []uint
	var timeout int
	fake := func(fd int, req uint, v int) error {
		calls = append(calls, req)
		if req == unix.WDIOC_SETTIMEOUT {
			timeout = v
		}
		return nil
	}
	w, err := Open(dev, 15*time.Second)
	// A regular file refuses the ioctl: the error says so, the device is kept.
	require.Error(t, err)
	assert.ErrorContains(t, err, "setting timeout 15s")
	w.ioctl = fake
	require.NoError(t, w.ioctl(int(w.f.Fd()), unix.WDIOC_SETTIMEOUT, 15))
	require.NoError(t, w.Kick())
	require.NoError(t, w.Close())
	assert.Equal(t, []uint{unix.WDIOC_SETTIMEOUT, unix.WDIOC_KEEPALIVE}, calls)
	assert.Equal(t, 15, timeout)
	data, err := os.ReadFile(dev)
	require.NoError(t, err)
	assert.Equal(t, "V", string(data), "magic close")
	require.NoError(t, w.Close(), "closing twice is fine")
	require.NoError(t, w.Kick(), "kicking a closed watchdog does nothing")

	w2 := &Watchdog{f: mustOpen(t, dev), ioctl: func(int, uint, int) error { return errors.New("gone") }}
	assert.ErrorContains(t, w2.Kick(), "keepalive: gone")
	var none *Watchdog
	assert.NoError(t, none.Kick())
	_, err = Open(filepath.Join(t.TempDir(), "missing"), time.Second)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func mustOpen(t *testing.T, p string) *os.File {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestModes(t *testing.T) {
	for mode, want := range map[string][2]bool{
		Disabled: {false, false}, Shutdown: {false, true}, Startup: {true, true}, Always: {true, true}, "": {false, false},
	} {
		assert.Equal(t, want[0], ArmedAtStart(mode), mode)
		assert.Equal(t, want[1], ArmedAtShutdown(mode), mode)
	}
}
