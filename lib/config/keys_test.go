package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyTable checks the invariants lookup relies on: sorted unique
// upper-case names, unique lower-case aliases, masks within PV|PH|OEM|RUN
// plus the documented ARGS and PH_CLIENT keys.
func TestKeyTable(t *testing.T) {
	ks := Keys()
	assert.Len(t, ks, 115, "every key of the reference table, and our PH_CREDS_INSECURE and PV_BOOTLOADER_UBOOT_LATCH")
	seen := map[string]string{}
	for i, k := range ks {
		if i > 0 {
			assert.Less(t, ks[i-1].Name, k.Name, "sorted")
		}
		assert.Equal(t, strings.ToUpper(k.Name), k.Name)
		assert.True(t, strings.HasPrefix(k.Name, "PV_") || strings.HasPrefix(k.Name, "PH_"), k.Name)
		assert.False(t, strings.HasPrefix(k.Name, "PV_SYSCTL_"), "sysctls are not table keys")
		assert.NotZero(t, k.Levels, k.Name)
		assert.False(t, k.Levels.Has(LevelDefault), k.Name)
		if k.Alias != "" {
			assert.Equal(t, strings.ToLower(k.Alias), k.Alias)
			if k.Alias != "policy" {
				assert.Contains(t, k.Alias, ".", "legacy aliases are dotted, except policy")
			}
			assert.NotContains(t, seen, k.Alias)
			seen[k.Alias] = k.Name
		}
		if strings.HasPrefix(k.Name, "PH_") {
			assert.True(t, k.Levels&ph == ph && k.Levels&pv&^ph == 0, "%s: PH mask", k.Name)
		} else {
			assert.True(t, k.Levels&pv == pv && k.Levels&ph&^pv == 0, "%s: PV mask", k.Name)
		}
	}
	for _, c := range compat {
		assert.NotContains(t, seen, strings.ToLower(c.alias))
		_, ok := Lookup(c.name)
		assert.True(t, ok, c.name)
	}
	assert.Len(t, seen, 78, "upstream's legacy aliases less log.maxsize")
}

func TestLevelsOfSpecialKeys(t *testing.T) {
	var withArgs, withClient, secrets []string
	for _, k := range Keys() {
		if k.Levels.Has(LevelArgs) {
			withArgs = append(withArgs, k.Name)
		}
		if k.Levels.Has(LevelPHClient) {
			withClient = append(withClient, k.Name)
		}
		if k.Secret {
			secrets = append(secrets, k.Name)
		}
	}
	assert.Equal(t, []string{"PV_DEBUG_SHELL", "PV_DEBUG_SHELL_AUTOLOGIN", "PV_DEBUG_SSH", "PV_SYSTEM_INIT_MODE"}, withArgs)
	assert.Equal(t, []string{"PH_CREDS_ID", "PH_CREDS_PRN", "PH_CREDS_SECRET"}, withClient)
	assert.Equal(t, []string{"PH_CREDS_SECRET", "PH_FACTORY_AUTOTOK"}, secrets)
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"PV_LOG_LEVEL", "PV_LOG_LEVEL"},
		{"pv_log_level", "PV_LOG_LEVEL"},
		{"Pv_Log_LeVeL", "PV_LOG_LEVEL"},
		{"log.level", "PV_LOG_LEVEL"},
		{"LOG.LEVEL", "PV_LOG_LEVEL"},
		{"storage.device", "PV_STORAGE_DEVICE"},
		{"creds.host", "PH_CREDS_HOST"},
		{"creds.proxy.noproxyconnect", "PH_CREDS_PROXY_NOPROXYCONNECT"},
		{"factory.autotok", "PH_FACTORY_AUTOTOK"},
		{"libthttp.certdir", "PV_LIBTHTTP_CERTSDIR"},
		{"policy", "PV_POLICY"},
		{"updater.keep_factory", "PV_STORAGE_GC_KEEP_FACTORY"},
		{"storage.gc.keep_factory", "PV_STORAGE_GC_KEEP_FACTORY"},
		{"meta.cache.dir", "PV_CACHE_USRMETADIR"},
		{"pantahub.log.push", "PV_LOG_PUSH"},
		{"pv_secureboot_oem_trustore", "PV_SECUREBOOT_OEM_TRUSTSTORE"},
		{"PH_UPDATER_TRANSFER_MAX_COUNT", "PH_UPDATER_TRANSFER_MAX_COUNT"},
		{"PV_XCONNECT_DBUS_SYSTEMBUS_ENABLED", "PV_XCONNECT_DBUS_SYSTEMBUS_ENABLED"},
	} {
		k, ok := Lookup(tc.in)
		require.True(t, ok, tc.in)
		assert.Equal(t, tc.want, k.Name, tc.in)
	}
	for _, in := range []string{"", "PV_", "PV_LOG_LEVE", "PV_LOG_LEVELX", "log.maxsize", "PV_LOG_MAXSIZE",
		"pv_log_levıl", "PV_SYSCTL_KERNEL_CORE_PATTERN", "log", "debug.shell.timeout", "log.level "} {
		_, ok := Lookup(in)
		assert.False(t, ok, "%q", in)
	}
}

func TestLevelString(t *testing.T) {
	want := []string{"default", "args", "pv conf file", "ph conf file", "ph client", "policy",
		"oem config", "pv cmdline", "ph cmdline", "env", "metadata", "command"}
	for l := LevelDefault; l < numLevels; l++ {
		assert.Equal(t, want[l], l.String())
	}
	assert.Equal(t, "level(12)", numLevels.String())
}
