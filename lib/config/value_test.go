package config

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setOne sets key at PV_CONF on a fresh Config and returns it with the error.
func setOne(t *testing.T, key, value string) (*Config, error) {
	t.Helper()
	c := New()
	return c, c.Set(LevelPVConf, key, value)
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"1", true}, {"0", false}, {"true", true}, {"false", false}, {"yes", true}, {"no", false},
		{"on", true}, {"off", false}, {"TRUE", true}, {"Off", false}, {"YeS", true},
	} {
		c, err := setOne(t, "PV_DEBUG_SHELL_AUTOLOGIN", tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, c.Get(DebugShellAutologin).Bool(), tc.in)
		assert.Equal(t, map[bool]string{true: "1", false: "0"}[tc.want], c.Get(DebugShellAutologin).String(), "printed as 1/0")
	}
	for _, bad := range []string{"", "2", "-1", "y", "n", "enable", "truee", " 1x"} {
		c, err := setOne(t, "PV_DEBUG_SSH", bad) // a BOOL defaulting to 1 (PV_DEBUG_SHELL's default is 0 here)
		assert.ErrorIs(t, err, ErrBadValue, "%q", bad)
		assert.True(t, c.Get(DebugSSH).Bool(), "%q: default kept", bad)
		assert.Equal(t, LevelDefault, c.Get(DebugSSH).Level())
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"0", 0}, {"5", 5}, {"-1", -1}, {"+7", 7}, {"007", 7}, {"2147483647", 2147483647}, {"-2147483648", -2147483648},
	} {
		c, err := setOne(t, "PV_LOOP_INDEX_BASE", tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, c.Get(LoopIndexBase).Int(), tc.in)
	}
	for _, bad := range []string{"", "x", "1.5", "0x10", "2147483648", "1 2", "5s"} {
		c, err := setOne(t, "PV_LOG_LEVEL", bad)
		assert.ErrorIs(t, err, ErrBadValue, "%q", bad)
		assert.Equal(t, 0, c.Get(LogLevel).Int(), "default kept")
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0}, {"30", 30 * time.Second}, {"30s", 30 * time.Second}, {"10min", 10 * time.Minute},
		{"1h", time.Hour}, {"1d", 24 * time.Hour}, {"2D", 48 * time.Hour}, {"5MIN", 5 * time.Minute},
		{"2147483647", 2147483647 * time.Second},
	} {
		c, err := setOne(t, "PV_WDT_TIMEOUT", tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, c.Get(WDTTimeout).Duration(), tc.in)
		assert.Equal(t, int(tc.want/time.Second), c.Get(WDTTimeout).Int(), "Int gives seconds")
	}
	for _, bad := range []string{"", "s", "-1", "10m", "1w", "1h30min", "1.5h", "10 min", "24856d", "99999999999999999999"} {
		c, err := setOne(t, "PV_WDT_TIMEOUT", bad)
		assert.ErrorIs(t, err, ErrBadValue, "%q", bad)
		assert.Equal(t, 15*time.Second, c.Get(WDTTimeout).Duration(), "default kept")
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n       int64
		percent bool
		printed string
	}{
		{"0", 0, false, "0"}, {"100", 100, false, "100"}, {"100B", 100, false, "100"},
		{"1K", 1 << 10, false, "1024"}, {"1KB", 1 << 10, false, "1024"}, {"2kb", 2 << 10, false, "2048"},
		{"16M", 16 << 20, false, "16777216"}, {"16MB", 16 << 20, false, "16777216"},
		{"1G", 1 << 30, false, "1073741824"}, {"1GB", 1 << 30, false, "1073741824"},
		{"1T", 1 << 40, false, "1099511627776"}, {"1TB", 1 << 40, false, "1099511627776"},
		{"10%", 10, true, "10%"}, {"100%", 100, true, "100%"}, {"0%", 0, true, "0%"},
		{"2147483647", 2147483647, false, "2147483647"},
	} {
		c, err := setOne(t, "PV_LOG_DIR_MAXSIZE", tc.in)
		require.NoError(t, err, tc.in)
		n, pct := c.Get(LogDirMaxsize).Size()
		assert.Equal(t, tc.n, n, tc.in)
		assert.Equal(t, tc.percent, pct, tc.in)
		assert.Equal(t, tc.printed, c.Get(LogDirMaxsize).String(), tc.in)
	}
	for _, bad := range []string{"", "M", "-1", "1.5M", "101%", "1P", "1 M", "1MiB", "%", "9999999999T"} {
		c, err := setOne(t, "PV_LOG_DIR_MAXSIZE", bad)
		assert.ErrorIs(t, err, ErrBadValue, "%q", bad)
		n, pct := c.Get(LogDirMaxsize).Size()
		assert.Equal(t, int64(0), n, "default kept")
		assert.False(t, pct)
	}
}

func TestString(t *testing.T) {
	for _, in := range []string{"", "LABEL=root", "/dev/mmcblk0p2", `"quoted"`, "a=b=c", "spaces inside", "#hash"} {
		c, err := setOne(t, "PV_STORAGE_DEVICE", in)
		require.NoError(t, err, in)
		assert.Equal(t, in, c.Get(StorageDevice).String())
		assert.Equal(t, LevelPVConf, c.Get(StorageDevice).Level())
	}
}

func TestEnum(t *testing.T) {
	for key, words := range map[string][]string{
		"PV_BOOTLOADER_TYPE":  {"uboot", "uboot-pvk", "grub", "rpiab", "uboot-ab"},
		"PV_SYSTEM_INIT_MODE": {"embedded", "standalone", "appengine"},
		"PV_SECUREBOOT_MODE":  {"disabled", "audit", "lenient", "strict"},
		"PV_WDT_MODE":         {"disabled", "shutdown", "startup", "always"},
		"PV_POWER_MODE":       {"disabled", "locks", "managed"},
		"PV_LOG_TIMESTAMP":    {"relative", "absolute"},
	} {
		for _, w := range words {
			c, err := setOne(t, key, w)
			require.NoError(t, err, "%s=%s", key, w)
			assert.Equal(t, w, get(t, c, key).String())
		}
		c, err := setOne(t, key, "GRUB")
		if key == "PV_BOOTLOADER_TYPE" {
			require.NoError(t, err, "case-insensitive")
			assert.Equal(t, "grub", get(t, c, key).String(), "stored in its canonical case")
			continue
		}
		assert.ErrorIs(t, err, ErrBadValue, key)
	}
	c, err := setOne(t, "PV_BOOTLOADER_TYPE", "lilo")
	assert.ErrorIs(t, err, ErrBadValue)
	assert.Contains(t, err.Error(), "uboot,uboot-pvk,grub,rpiab,uboot-ab", "the error lists the choices")
	assert.Equal(t, "uboot", c.Get(BootloaderType).String())
}

func TestList(t *testing.T) {
	for in, want := range map[string]string{
		"filetree":                      "filetree",
		"singlefile,stdout":             "singlefile,stdout",
		" filetree , stdout.containers": "filetree,stdout.containers",
		"NULLSINK,,stdout_direct,":      "nullsink,stdout_direct",
		"":                              "",
	} {
		c, err := setOne(t, "PV_LOG_SERVER_OUTPUTS", in)
		require.NoError(t, err, in)
		assert.Equal(t, want, c.Get(LogServerOutputs).String(), in)
	}
	c, err := setOne(t, "PV_LOG_SERVER_OUTPUTS", "filetree,syslog")
	assert.ErrorIs(t, err, ErrBadValue)
	assert.Contains(t, err.Error(), `"syslog"`)
	assert.Equal(t, "filetree", c.Get(LogServerOutputs).String(), "whole value refused")
}

// TestDefaultsParse checks every default against its own type, and the
// upstream defaults that tests elsewhere rely on.
func TestDefaultsParse(t *testing.T) {
	for _, k := range Keys() {
		_, err := parseValue(&k, k.Default)
		assert.NoError(t, err, k.Name)
		if k.Type == TypeEnum || k.Type == TypeList {
			assert.NotEmpty(t, k.Choices, k.Name)
		} else {
			assert.Empty(t, k.Choices, k.Name)
		}
	}
	c := New()
	assert.Equal(t, "api.pantahub.com", c.Get(PHCredsHost).String())
	assert.Equal(t, 443, c.Get(PHCredsPort).Int())
	assert.Equal(t, 25*time.Second, c.Get(UpdaterCommitDelay).Duration())
	assert.Equal(t, "/pv", c.Get(SystemRundir).String(), "code default, not the docs'")
	assert.Equal(t, -1, c.Get(LoopIndexBase).Int())
	assert.True(t, c.Get(ControlRemote).Bool())
	assert.Equal(t, "", c.Get(PHCredsSecret).String())
	assert.Equal(t, time.Hour, c.Get(PowerWakeInterval).Duration())
}

func TestTypeMismatchGetters(t *testing.T) {
	c := New()
	assert.Equal(t, 1, c.Get(DebugSSH).Int(), "BOOL as number")
	assert.True(t, c.Get(PHCredsPort).Bool(), "non-zero INT is true")
	assert.Equal(t, 0, c.Get(StorageDevice).Int(), "STRING has no number")
	for _, unknown := range []string{"PV_NOPE", ""} {
		_, ok := ParseKey(unknown)
		assert.False(t, ok, "an unknown name is no key: nothing can read it")
	}
	var zero Config
	assert.Equal(t, "uboot", zero.Get(BootloaderType).String(), "the zero Config holds the defaults")
	assert.True(t, errors.Is(zero.Set(LevelEnv, "PV_LOG_LEVEL", "3"), nil))
	assert.Equal(t, 3, zero.Get(LogLevel).Int())
}
