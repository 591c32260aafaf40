package config

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample returns a valid value for k that differs from its default.
func sample(k Spec) string {
	switch k.Type {
	case TypeBool:
		if k.Default == "1" {
			return "0"
		}
		return "1"
	case TypeInt, TypeDuration, TypeSize:
		return "7"
	case TypeEnum, TypeList:
		c, _, _ := strings.Cut(k.Choices, ",")
		if c == k.Default {
			_, rest, _ := strings.Cut(k.Choices, ",")
			c, _, _ = strings.Cut(rest, ",")
		}
		return c
	}
	return "sample"
}

// TestMaskEveryKeyEveryLevel sets every key at every level: accepted exactly
// at the levels of its mask, and a refused value leaves the key untouched.
func TestMaskEveryKeyEveryLevel(t *testing.T) {
	for i, k := range Keys() {
		key := Key(i)
		for l := LevelDefault; l < numLevels; l++ {
			c := New()
			err := c.Set(l, k.Name, sample(k))
			if k.Levels.Has(l) {
				require.NoError(t, err, "%s at %s", k.Name, l)
				assert.Equal(t, l, c.Get(key).Level())
				assert.NotEqual(t, k.Default, c.Get(key).String(), "%s at %s", k.Name, l)
				continue
			}
			require.ErrorIs(t, err, ErrNotAllowed, "%s at %s", k.Name, l)
			assert.Equal(t, LevelDefault, c.Get(key).Level())
			assert.Equal(t, New().Get(key).String(), c.Get(key).String())
		}
	}
}

// TestMasksFromReference spot-checks masks against the reference table.
func TestMasksFromReference(t *testing.T) {
	for _, tc := range []struct {
		key     string
		allowed []Level
	}{
		{"PV_STORAGE_DEVICE", []Level{LevelPVConf, LevelPolicy, LevelPVCmdline, LevelEnv}},
		{"PH_CREDS_HOST", []Level{LevelPHConf, LevelPolicy, LevelOEM, LevelPHCmdline, LevelEnv}},
		{"PH_CREDS_SECRET", []Level{LevelPHConf, LevelPHClient, LevelPolicy, LevelOEM, LevelPHCmdline, LevelEnv}},
		{"PH_UPDATER_INTERVAL", []Level{LevelPHConf, LevelPolicy, LevelOEM, LevelPHCmdline, LevelEnv, LevelMeta, LevelCmd}},
		{"PV_LOG_LEVEL", []Level{LevelPVConf, LevelPolicy, LevelOEM, LevelPVCmdline, LevelEnv, LevelMeta, LevelCmd}},
		{"PV_DEBUG_SSH", []Level{LevelArgs, LevelPVConf, LevelPolicy, LevelOEM, LevelPVCmdline, LevelEnv, LevelMeta, LevelCmd}},
		{"PV_SYSTEM_INIT_MODE", []Level{LevelArgs, LevelPVConf, LevelPolicy, LevelPVCmdline, LevelEnv}},
		{"PV_CONTROL_REMOTE", []Level{LevelPVConf, LevelPolicy, LevelOEM, LevelPVCmdline, LevelEnv}},
		{"PV_UPDATER_GOALS_TIMEOUT", []Level{LevelPVConf, LevelPolicy, LevelOEM, LevelPVCmdline, LevelEnv}},
	} {
		k, ok := Lookup(tc.key)
		require.True(t, ok)
		var got []Level
		for l := LevelDefault; l < numLevels; l++ {
			if k.Levels.Has(l) {
				got = append(got, l)
			}
		}
		assert.Equal(t, tc.allowed, got, tc.key)
	}
}

func TestPrecedence(t *testing.T) {
	c := New()
	// Loaded out of order on purpose: rank, not time, decides.
	require.NoError(t, c.Set(LevelEnv, "PV_LOG_LEVEL", "4"))
	require.NoError(t, c.Set(LevelPVConf, "PV_LOG_LEVEL", "1"))
	require.NoError(t, c.Set(LevelOEM, "PV_LOG_LEVEL", "2"))
	require.NoError(t, c.Set(LevelPVCmdline, "PV_LOG_LEVEL", "3"))
	assert.Equal(t, 4, c.Get(LogLevel).Int())
	assert.Equal(t, LevelEnv, c.Get(LogLevel).Level())

	require.NoError(t, c.Set(LevelMeta, "PV_LOG_LEVEL", "5"))
	assert.Equal(t, 5, c.Get(LogLevel).Int())
	require.NoError(t, c.Set(LevelCmd, "PV_LOG_LEVEL", "0"))
	assert.Equal(t, LevelCmd, c.Get(LogLevel).Level())
	require.NoError(t, c.Set(LevelMeta, "PV_LOG_LEVEL", "2"), "a lower level changes underneath")
	assert.Equal(t, 0, c.Get(LogLevel).Int())

	require.NoError(t, c.Unset(LevelCmd, "PV_LOG_LEVEL"))
	assert.Equal(t, 2, c.Get(LogLevel).Int())
	require.NoError(t, c.Set(LevelMeta, "PV_LOG_LEVEL", "5"), "same level: last write wins")
	assert.Equal(t, 5, c.Get(LogLevel).Int())

	for _, l := range []Level{LevelMeta, LevelEnv, LevelPVCmdline, LevelOEM} {
		require.NoError(t, c.Unset(l, "PV_LOG_LEVEL"))
	}
	assert.Equal(t, 1, c.Get(LogLevel).Int())
	assert.Equal(t, LevelPVConf, c.Get(LogLevel).Level())
	require.NoError(t, c.Unset(LevelPVConf, "log.level"), "unset through an alias")
	assert.Equal(t, LevelDefault, c.Get(LogLevel).Level())
	assert.NoError(t, c.Unset(LevelPVConf, "PV_LOG_LEVEL"), "unsetting twice is fine")
	assert.ErrorIs(t, c.Unset(LevelMeta, "PV_NOPE"), ErrUnknownKey)
}

// TestMetaRefusedKeepsLower: a PV-only key at META is refused with a warning
// and the lower value stays; removing the metadata key changes nothing.
func TestMetaRefusedKeepsLower(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelPVConf, "PV_STORAGE_DEVICE", "LABEL=root"))
	err := c.Set(LevelMeta, "PV_STORAGE_DEVICE", "/dev/sdb1")
	require.ErrorIs(t, err, ErrNotAllowed)
	var w Warning
	require.True(t, errors.As(err, &w))
	assert.Equal(t, LevelMeta, w.Level)
	assert.Equal(t, `metadata: PV_STORAGE_DEVICE="/dev/sdb1": key not allowed at this level: PV_STORAGE_DEVICE`, w.Error())
	assert.Equal(t, "LABEL=root", c.Get(StorageDevice).String())
	assert.Equal(t, LevelPVConf, c.Get(StorageDevice).Level())
	require.NoError(t, c.Unset(LevelMeta, "PV_STORAGE_DEVICE"))
	assert.Equal(t, "LABEL=root", c.Get(StorageDevice).String())
}

func TestMetaRevert(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelPHConf, "PH_UPDATER_INTERVAL", "60"))
	require.NoError(t, c.Set(LevelMeta, "ph_updater_interval", "1min"))
	assert.Equal(t, 60, c.Get(PHUpdaterInterval).Int())
	require.NoError(t, c.Set(LevelMeta, "PH_UPDATER_INTERVAL", "10"))
	assert.Equal(t, 10, c.Get(PHUpdaterInterval).Int())
	require.NoError(t, c.Unset(LevelMeta, "PH_UPDATER_INTERVAL"))
	assert.Equal(t, 60, c.Get(PHUpdaterInterval).Int())
	assert.Equal(t, LevelPHConf, c.Get(PHUpdaterInterval).Level())

	// A bad META value is refused and does not hide the value below.
	assert.ErrorIs(t, c.Set(LevelMeta, "PH_UPDATER_INTERVAL", "soon"), ErrBadValue)
	assert.Equal(t, LevelPHConf, c.Get(PHUpdaterInterval).Level())
}

func TestReset(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelPVConf, "PV_LOG_LEVEL", "1"))
	require.NoError(t, c.Set(LevelOEM, "PV_LOG_LEVEL", "3"))
	require.NoError(t, c.Set(LevelOEM, "PV_NET_BRDEV", "br9"))
	require.NoError(t, c.Set(LevelOEM, "PV_SYSCTL_VM_SWAPPINESS", "10"))
	c.Reset(LevelOEM)
	assert.Equal(t, 1, c.Get(LogLevel).Int())
	assert.Equal(t, "lxcbr0", c.Get(NetBrdev).String())
	assert.Len(t, c.Sysctls(), 1, "only the default is left")
}

func TestWarnings(t *testing.T) {
	c := New()
	err := c.Set(LevelPVConf, "log.level", "4")
	require.ErrorIs(t, err, ErrLegacyKey, "alias: applied with a warning")
	assert.Equal(t, `pv conf file: log.level="4": legacy key, read as PV_LOG_LEVEL`, err.Error())
	assert.Equal(t, 4, c.Get(LogLevel).Int())

	err = c.Set(LevelEnv, "PV_NO_SUCH_KEY", "1")
	require.ErrorIs(t, err, ErrUnknownKey)
	assert.Equal(t, `env: PV_NO_SUCH_KEY="1": unknown key`, err.Error())

	err = c.Set(LevelOEM, "PV_LOG_LEVEL", "loud")
	require.ErrorIs(t, err, ErrBadValue)
	assert.Equal(t, `oem config: PV_LOG_LEVEL="loud": bad value: want a decimal 32-bit integer`, err.Error())
	assert.Equal(t, 4, c.Get(LogLevel).Int())

	err = c.Set(LevelPVConf, "creds.host", "hub.local")
	require.ErrorIs(t, err, ErrNotAllowed, "alias of a PH key at a PV level")
	assert.Equal(t, "api.pantahub.com", c.Get(PHCredsHost).String())

	assert.ErrorIs(t, c.Set(LevelDefault, "PV_LOG_LEVEL", "1"), ErrNotAllowed, "defaults are fixed")
	assert.ErrorIs(t, c.Set(numLevels, "PV_LOG_LEVEL", "1"), ErrNotAllowed)
}

func TestSecretHidden(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelPHConf, "PH_CREDS_SECRET", "s3cr3t"))
	require.NoError(t, c.Set(LevelPHConf, "PH_CREDS_ID", "dev1"))
	assert.Equal(t, "s3cr3t", c.Get(PHCredsSecret).String(), "getters return the real value")

	err := c.Set(LevelMeta, "PH_CREDS_SECRET", "leak")
	require.ErrorIs(t, err, ErrNotAllowed)
	assert.NotContains(t, err.Error(), "leak")
	assert.Contains(t, err.Error(), "<secret>")
	err = c.Set(LevelPHConf, "factory.autotok", "tok")
	require.ErrorIs(t, err, ErrLegacyKey)
	assert.NotContains(t, err.Error(), "tok\"")

	var b strings.Builder
	_, err = c.WriteTo(&b)
	require.NoError(t, err)
	assert.Contains(t, b.String(), "PH_CREDS_SECRET\tph conf file\t\"<secret>\"\n")
	assert.Contains(t, b.String(), "PH_FACTORY_AUTOTOK\tph conf file\t\"<secret>\"\n")
	assert.Contains(t, b.String(), "PH_CREDS_ID\tph conf file\t\"dev1\"\n")
	assert.NotContains(t, b.String(), "s3cr3t")
}

func TestClientAndArgsLevels(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelPHConf, "PH_CREDS_PRN", "prn:old"))
	require.NoError(t, c.Set(LevelPHClient, "PH_CREDS_PRN", "prn:::devices:/abc"))
	assert.Equal(t, "prn:::devices:/abc", c.Get(PHCredsPRN).String())
	require.NoError(t, c.Set(LevelPHClient, "PH_CREDS_PRN", ""), "unclaim clears")
	assert.Equal(t, "", c.Get(PHCredsPRN).String())
	assert.ErrorIs(t, c.Set(LevelPHClient, "PH_CREDS_HOST", "x"), ErrNotAllowed)

	require.NoError(t, c.Set(LevelArgs, "PV_SYSTEM_INIT_MODE", "appengine"))
	require.NoError(t, c.Set(LevelPVConf, "PV_SYSTEM_INIT_MODE", "standalone"))
	assert.Equal(t, "standalone", c.Get(SystemInitMode).String(), "the config file is above argv")
	assert.ErrorIs(t, c.Set(LevelArgs, "PV_LOG_LEVEL", "5"), ErrNotAllowed)
}

func TestPolicyAndOEMFiles(t *testing.T) {
	c := New()
	assert.Equal(t, "", c.PolicyFile())
	assert.Equal(t, "", c.OEMFile())
	require.NoError(t, c.Set(LevelPVConf, "PV_OEM_NAME", "oem"))
	assert.Equal(t, "oem/default.config", c.OEMFile())
	require.NoError(t, c.Set(LevelPVCmdline, "PV_POLICY", "debug"))
	assert.Equal(t, "/etc/pantavisor/policies/debug.config", c.PolicyFile())
	assert.Equal(t, "oem/debug.config", c.OEMFile())
	require.NoError(t, c.Set(LevelEnv, "PV_POLICY", "../x"))
	assert.Equal(t, "", c.PolicyFile(), "a policy with '/' is refused, as upstream")
	assert.Equal(t, "oem/default.config", c.OEMFile())
	require.NoError(t, c.Set(LevelEnv, "PV_OEM_NAME", ".."))
	assert.Equal(t, "", c.OEMFile())
}

func TestWriteToDefaults(t *testing.T) {
	var b strings.Builder
	n, err := New().WriteTo(&b)
	require.NoError(t, err)
	assert.Equal(t, int64(b.Len()), n)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	assert.Len(t, lines, len(keys)+1, "one line per key and the default sysctl")
	assert.Equal(t, "PH_CREDS_HOST\tdefault\t\"api.pantahub.com\"", lines[0])
	assert.Equal(t, "/proc/sys/kernel/core_pattern\tdefault\t\"|/lib/pv/pvcrash --skip\"", lines[len(lines)-1])
}

// TestConcurrent is for -race: readers, writers and the printer at once.
func TestConcurrent(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				_ = c.Set(LevelMeta, "PV_LOG_LEVEL", "3")
				_ = c.Set(LevelOEM, "PV_SYSCTL_VM_SWAPPINESS", "1")
				_ = c.Get(LogLevel).Int()
				_, _ = c.WriteTo(&strings.Builder{})
				_ = c.Unset(LevelMeta, "PV_LOG_LEVEL")
				c.Reset(LevelOEM)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, LevelDefault, c.Get(LogLevel).Level())
}
