package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/cmdline"
)

func TestParse(t *testing.T) {
	in := "# comment\n\n  PV_LOG_LEVEL = 4 \r\nbroken line\n=novalue\nPV_X=a=b # not a comment\n\t#PV_Y=1\nPV_Z=\nlast=1"
	got, err := parse(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, []pair{
		{line: 3, key: "PV_LOG_LEVEL", value: "4", ok: true},
		{line: 4, key: "broken line"},
		{line: 5, key: "=novalue"},
		{line: 6, key: "PV_X", value: "a=b # not a comment", ok: true},
		{line: 8, key: "PV_Z", value: "", ok: true},
		{line: 9, key: "last", value: "1", ok: true},
	}, got)

	_, err = parse(iotest.ErrReader(errors.New("boom")))
	assert.ErrorContains(t, err, "boom")
	_, err = parse(strings.NewReader("K=" + strings.Repeat("x", 2<<20)))
	assert.Error(t, err, "a line over 1 MiB")
}

// TestLoadLevels loads the same kind of file at each file level.
func TestLoadLevels(t *testing.T) {
	for _, tc := range []struct {
		level     Level
		file      string
		key, want string
		warns     int
	}{
		{LevelPVConf, "PV_STORAGE_DEVICE=LABEL=root\nPV_STORAGE_FSTYPE=ext4\n", "PV_STORAGE_DEVICE", "LABEL=root", 0},
		{LevelPVConf, "storage.device=/dev/vda2\n", "PV_STORAGE_DEVICE", "/dev/vda2", 1},
		{LevelPHConf, "creds.host=hub.local\ncreds.port=12365\nPH_CREDS_SECRET=x\n", "PH_CREDS_HOST", "hub.local", 2},
		{LevelPHConf, "PV_LOG_LEVEL=5\n", "PV_LOG_LEVEL", "0", 1},
		{LevelPolicy, "PV_LOG_LEVEL=5\nPH_UPDATER_INTERVAL=1h\n", "PH_UPDATER_INTERVAL", "3600", 0},
		{LevelOEM, "PV_LOG_LEVEL=3\nPV_STORAGE_DEVICE=/dev/x\n", "PV_LOG_LEVEL", "3", 1},
		{LevelOEM, "PH_CREDS_HOST=oem.hub\n", "PH_CREDS_HOST", "oem.hub", 0},
		{LevelMeta, "PV_LOG_PUSH=0\npvr-sdk.authorized_keys=ssh-ed25519 AAAA\n", "PV_LOG_PUSH", "0", 1},
		{LevelCmd, "debug.ssh=0\n", "PV_DEBUG_SSH", "0", 1},
	} {
		c := New()
		warns, err := c.Load(tc.level, strings.NewReader(tc.file))
		require.NoError(t, err)
		assert.Len(t, warns, tc.warns, "%s: %v", tc.level, warns)
		assert.Equal(t, tc.want, get(t, c, tc.key).String(), tc.level.String())
	}
}

func TestLoadWarnings(t *testing.T) {
	c := New()
	warns, err := c.Load(LevelPVConf, strings.NewReader(
		"PV_LOG_LEVEL=2\nlog.level=3\nnonsense\nPV_WHAT=1\nPV_WDT_TIMEOUT=soon\nPV_log_level=4\n"))
	require.NoError(t, err)
	require.Len(t, warns, 4)
	for i, want := range []struct {
		line int
		err  error
		text string
	}{
		{2, ErrLegacyKey, `pv conf file line 2: log.level="3": legacy key, read as PV_LOG_LEVEL`},
		{3, ErrSyntax, `pv conf file line 3: nonsense: want key=value`},
		{4, ErrUnknownKey, `pv conf file line 4: PV_WHAT="1": unknown key`},
		{5, ErrBadValue, `pv conf file line 5: PV_WDT_TIMEOUT="soon": bad value: want seconds or a number with unit s, min, h or d (e.g. 30s, 10min, 1h, 1d)`},
	} {
		assert.Equal(t, want.line, warns[i].Line)
		assert.ErrorIs(t, warns[i], want.err)
		assert.Equal(t, want.text, warns[i].Error())
	}
	assert.Equal(t, 4, c.Get(LogLevel).Int(), "later line wins, keys case-insensitive")
	assert.Equal(t, 15*time.Second, c.Get(WDTTimeout).Duration())
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "pantavisor.config")
	require.NoError(t, os.WriteFile(name, []byte("PV_BOOTLOADER_TYPE=grub\n"), 0o644))
	c := New()
	warns, err := c.LoadFile(LevelPVConf, name)
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Equal(t, "grub", c.Get(BootloaderType).String())

	_, err = c.LoadFile(LevelOEM, filepath.Join(dir, "missing.config"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "loading oem config")
}

func TestLoadEnv(t *testing.T) {
	c := New()
	warns := c.LoadEnv([]string{
		"HOME=/", "TERM=linux", "PV_LOG_LEVEL=5", "PH_CREDS_HOST=env.hub", "pv_log_level=1",
		"PV_=x", "PV_NOPE=1", "PV_STORAGE_DEVICE", "PH_UPDATER_INTERVAL=2min", "PV_SYSCTL_VM_SWAPPINESS=1",
		"PV_POLICY=a=b",
	})
	require.Len(t, warns, 1, "%v", warns)
	assert.ErrorIs(t, warns[0], ErrUnknownKey)
	assert.Equal(t, LevelEnv, warns[0].Level)
	assert.Equal(t, 5, c.Get(LogLevel).Int(), "lower-case pv_ words are the kernel's, left to LoadCmdline")
	assert.Equal(t, "env.hub", c.Get(PHCredsHost).String())
	assert.Equal(t, 120, c.Get(PHUpdaterInterval).Int())
	assert.Equal(t, "a=b", c.Get(Policy).String(), "split at the first '='")
	assert.Equal(t, LevelEnv, c.Get(Policy).Level())
}

func TestLoadCmdline(t *testing.T) {
	c := New()
	cl := cmdline.Parse(`console=ttyS0 pv_try=5 pv_rev=4 pv_debug pv_log_level=3 ph_creds_host=cmd.hub ` +
		`pv_storage.device=LABEL=pvroot ph_creds.port=8443 pv_creds_host=x ph_log_level=5 pv_nope=1 ` +
		`pv_system_init_mode=appengine pv_log_server_outputs="stdout,filetree" PV_LOG_PUSH=0 pv_=1`)
	warns := c.LoadCmdline(cl)
	var texts []string
	for _, w := range warns {
		texts = append(texts, w.Error())
	}
	assert.Equal(t, []string{
		`pv cmdline: storage.device="LABEL=pvroot": legacy key, read as PV_STORAGE_DEVICE`,
		`ph cmdline: creds.port="8443": legacy key, read as PH_CREDS_PORT`,
		`pv cmdline: pv_creds_host="x": unknown key`,
		`ph cmdline: ph_log_level="5": unknown key`,
		`pv cmdline: pv_nope="1": unknown key`,
	}, texts)
	assert.Equal(t, 3, c.Get(LogLevel).Int())
	assert.Equal(t, LevelPVCmdline, c.Get(LogLevel).Level())
	assert.Equal(t, "cmd.hub", c.Get(PHCredsHost).String())
	assert.Equal(t, LevelPHCmdline, c.Get(PHCredsHost).Level())
	assert.Equal(t, "LABEL=pvroot", c.Get(StorageDevice).String())
	assert.Equal(t, 8443, c.Get(PHCredsPort).Int())
	assert.Equal(t, "appengine", c.Get(SystemInitMode).String())
	assert.Equal(t, "stdout,filetree", c.Get(LogServerOutputs).String())
	assert.True(t, c.Get(LogPush).Bool(), "upper-case words reach init as environment, not here")

	// A PH key needs ph_, a PV key pv_.
	c = New()
	warns = c.LoadCmdline(cmdline.Parse("pv_creds.host=x ph_storage.device=y"))
	require.Len(t, warns, 2)
	assert.ErrorIs(t, warns[0], ErrNotAllowed)
	assert.ErrorIs(t, warns[1], ErrNotAllowed)
}
