package pid1

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/cmdline"
)

// writeEnv commits vars into the env of kind below storage.
func writeEnv(t *testing.T, kind, storage string, vars map[string]string) {
	t.Helper()
	env, _, err := bootloader.Layout(kind)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(storage, filepath.Dir(env)), 0o755))
	e, err := bootloader.Open(kind, filepath.Join(storage, env))
	require.NoError(t, err)
	for k, v := range vars {
		require.NoError(t, e.Set(k, v))
	}
	require.NoError(t, e.Commit())
}

// readEnv returns key of the env of kind below storage.
func readEnv(t *testing.T, kind, storage, key string) string {
	t.Helper()
	env, _, err := bootloader.Layout(kind)
	require.NoError(t, err)
	e, err := bootloader.Open(kind, filepath.Join(storage, env))
	require.NoError(t, err)
	v, _ := e.Get(key)
	return v
}

// TestChooseRevision: the revision PID 1 runs per bootloader and env.
func TestChooseRevision(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    string // PV_BOOTLOADER_TYPE
		cmdline string
		direct  map[string]string // boot/direct.env, nil: never written
		rev     string
		trying  bool
		direct_ bool // the Boot runs the latch itself
	}{
		{"no pv_rev on the command line, no env: trails/current", bootloader.KindUboot, "console=ttyS0", nil, "", false, true},
		{"no pv_rev: the direct env's pv_rev", bootloader.KindGrub, "", map[string]string{"pv_rev": "5"}, "5", false, true},
		{"no pv_rev: the direct env's pending try, latched", bootloader.KindUboot, "",
			map[string]string{"pv_rev": "5", "pv_try": "6"}, "6", true, true},
		{"no pv_rev: a try latched before is not tried again", bootloader.KindUboot, "",
			map[string]string{"pv_rev": "5", "pv_try": "6", "pv_trying": "6"}, "5", false, true},
		{"uboot: pv_rev of the command line", bootloader.KindUboot, "pv_rev=7", nil, "7", false, false},
		{"uboot: pv_try equal to pv_rev is a try", bootloader.KindUboot, "pv_rev=8 pv_try=8", nil, "8", true, false},
		{"uboot: pv_try other than pv_rev is not", bootloader.KindUboot, "pv_rev=7 pv_try=8", nil, "7", false, false},
		{"grub: pv_rev empty is the factory revision", bootloader.KindGrub, "pv_rev=", nil, "0", false, false},
		{"grub: a try", bootloader.KindGrub, "pv_rev=9 pv_try=9", nil, "9", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := t.TempDir()
			if tc.direct != nil {
				writeEnv(t, bootloader.KindDirect, storage, tc.direct)
			}
			var out bytes.Buffer
			b, rev, trying := ChooseRevision(&out, bootloader.Options{}, tc.kind, cmdline.Parse(tc.cmdline), storage)
			require.NotNil(t, b)
			assert.Equal(t, tc.rev, rev)
			assert.Equal(t, tc.trying, trying)
			assert.Equal(t, tc.direct_, b.Direct)
			assert.Contains(t, out.String(), "pantavisor: bootloader ")
			assert.Contains(t, out.String(), "running revision "+tc.rev+" ")
		})
	}
}

// TestChooseRevisionLatch: a direct try is latched on disk before it runs.
func TestChooseRevisionLatch(t *testing.T) {
	storage := t.TempDir()
	writeEnv(t, bootloader.KindDirect, storage, map[string]string{"pv_rev": "1", "pv_try": "2"})
	_, rev, trying := ChooseRevision(nil, bootloader.Options{}, bootloader.KindUboot, nil, storage)
	assert.Equal(t, "2", rev)
	assert.True(t, trying)
	assert.Equal(t, "2", readEnv(t, bootloader.KindDirect, storage, bootloader.KeyTrying))
	// The next boot (never committed nor failed) runs pv_rev.
	_, rev, trying = ChooseRevision(nil, bootloader.Options{}, bootloader.KindUboot, nil, storage)
	assert.Equal(t, "1", rev)
	assert.False(t, trying)
}

// TestChooseRevisionErrors: an unknown bootloader or an unreadable env
// is reported; the revision of the command line still runs.
func TestChooseRevisionErrors(t *testing.T) {
	var out bytes.Buffer
	b, rev, trying := ChooseRevision(&out, bootloader.Options{}, "lilo", cmdline.Parse("pv_rev=4 pv_try=4"), t.TempDir())
	assert.Nil(t, b)
	assert.Equal(t, "4", rev)
	assert.False(t, trying, "no env, no latch: never a try")
	assert.Contains(t, out.String(), "pantavisor: bootloader env (lilo): unknown bootloader type")

	// A corrupt env is reported and still chosen from.
	storage := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(storage, "boot"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(storage, "boot/uboot.txt"), []byte("\xff\xfe garbage"), 0o644))
	out.Reset()
	b, rev, _ = ChooseRevision(&out, bootloader.Options{}, bootloader.KindUboot, cmdline.Parse("pv_rev=3"), storage)
	require.NotNil(t, b)
	assert.Equal(t, "3", rev)
	assert.Contains(t, out.String(), "pantavisor: bootloader env (uboot): ")

	// The direct latch cannot be written (its temporary file is a
	// directory, even root cannot replace it): pv_rev runs, not the try.
	storage = t.TempDir()
	writeEnv(t, bootloader.KindDirect, storage, map[string]string{"pv_rev": "1", "pv_try": "2"})
	require.NoError(t, os.MkdirAll(filepath.Join(storage, "boot/direct.env.tmp/x"), 0o755))
	out.Reset()
	_, rev, trying = ChooseRevision(&out, bootloader.Options{}, bootloader.KindDirect, nil, storage)
	assert.Equal(t, "1", rev)
	assert.False(t, trying)
	assert.Contains(t, out.String(), "pantavisor: bootloader: latching the try of revision 2")
	assert.Equal(t, "", readEnv(t, bootloader.KindDirect, storage, bootloader.KeyTrying))
}

// TestChooseDirect: the appengine's choice; --rev wins, never as a try.
func TestChooseDirect(t *testing.T) {
	storage := t.TempDir()
	b, rev, trying, err := ChooseDirect(storage, "")
	require.NoError(t, err)
	require.NotNil(t, b)
	assert.True(t, b.Direct)
	assert.Equal(t, "", rev, "a direct env never written: trails/current, else 0")
	assert.False(t, trying)

	writeEnv(t, bootloader.KindDirect, storage, map[string]string{"pv_rev": "3", "pv_try": "4"})
	b, rev, trying, err = ChooseDirect(storage, "9")
	require.NoError(t, err)
	require.NotNil(t, b)
	assert.Equal(t, "9", rev, "--rev wins")
	assert.False(t, trying)
	assert.Equal(t, "", readEnv(t, bootloader.KindDirect, storage, bootloader.KeyTrying), "--rev latches nothing")

	_, rev, trying, err = ChooseDirect(storage, "")
	require.NoError(t, err)
	assert.Equal(t, "4", rev)
	assert.True(t, trying)
	_, rev, trying, err = ChooseDirect(storage, "")
	require.NoError(t, err)
	assert.Equal(t, "3", rev, "restarting the appengine is the reboot after a try")
	assert.False(t, trying)

	// A storage path that is a file: the env cannot be read; the error
	// comes with the choice (--rev, else pv_rev of an empty env).
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, rev, _, err = ChooseDirect(file, "2")
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	assert.Equal(t, "2", rev)
	_, rev, trying, err = ChooseDirect(file, "")
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	assert.Equal(t, bootloader.FactoryRev, rev)
	assert.False(t, trying)
}
