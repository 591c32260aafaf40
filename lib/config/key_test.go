package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get reads the key named name, failing the test for a name that is no key.
func get(t *testing.T, c *Config, name string) Value {
	t.Helper()
	k, ok := ParseKey(name)
	require.True(t, ok, "%q is a key", name)
	return c.Get(k)
}

// constName is the naming rule of names.go: PV_ dropped, PH_ kept as PH,
// each word capitalised, the listed initialisms upper case.
func constName(name string) string {
	words := strings.Split(name, "_")
	var b strings.Builder
	if words[0] == "PH" {
		b.WriteString("PH")
	}
	for _, w := range words[1:] {
		switch w {
		case "DM", "FS", "HTTP", "ID", "LXC", "MTD", "OEM", "PRN", "SSH", "WDT":
			b.WriteString(w)
		default:
			b.WriteString(w[:1] + strings.ToLower(w[1:]))
		}
	}
	return b.String()
}

// TestKeyNames checks names.go against the table: one constant per row, in
// table order, each named after its row by constName.
func TestKeyNames(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "names.go", nil, 0)
	require.NoError(t, err)
	var idents []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for _, id := range vs.Names {
				idents = append(idents, id.Name)
			}
		}
		return true
	})
	require.Equal(t, "numKeys", idents[len(idents)-1])
	idents = idents[:len(idents)-1]
	require.Len(t, idents, len(keys))
	for i, id := range idents {
		assert.Equal(t, constName(keys[i].Name), id, "constant %d", i)
		assert.Equal(t, keys[i].Name, Key(i).Name())
	}
}

// TestKeyConstants spot-checks constants a reader would look up by hand,
// and the answers for a value that is no key.
func TestKeyConstants(t *testing.T) {
	for k, want := range map[Key]string{
		PHCredsHost:                  "PH_CREDS_HOST",
		PHCredsID:                    "PH_CREDS_ID",
		PHCredsInsecure:              "PH_CREDS_INSECURE",
		PHUpdaterTransferMaxCount:    "PH_UPDATER_TRANSFER_MAX_COUNT",
		BootloaderType:               "PV_BOOTLOADER_TYPE",
		DebugSSH:                     "PV_DEBUG_SSH",
		LogLevel:                     "PV_LOG_LEVEL",
		SecurebootOEMTruststore:      "PV_SECUREBOOT_OEM_TRUSTSTORE",
		StorageDevice:                "PV_STORAGE_DEVICE",
		SystemRundir:                 "PV_SYSTEM_RUNDIR",
		WDTTimeout:                   "PV_WDT_TIMEOUT",
		XconnectDbusSystembusEnabled: "PV_XCONNECT_DBUS_SYSTEMBUS_ENABLED",
	} {
		assert.Equal(t, want, k.Name())
		assert.Equal(t, want, k.String())
		assert.Equal(t, want, k.Spec().Name)
	}
	assert.Equal(t, "key(115)", numKeys.Name())
	assert.Equal(t, Spec{}, numKeys.Spec())
	c := New()
	assert.Equal(t, Value{}, c.Get(numKeys))
	assert.Equal(t, "", c.Get(255).String())
	assert.Equal(t, LevelDefault, c.Get(255).Level())
}

func TestParseKey(t *testing.T) {
	for in, want := range map[string]Key{
		"PV_LOG_LEVEL":               LogLevel,
		"pv_log_level":               LogLevel,
		"log.level":                  LogLevel,
		"creds.host":                 PHCredsHost,
		"updater.keep_factory":       StorageGcKeepFactory,
		"pv_secureboot_oem_trustore": SecurebootOEMTruststore,
	} {
		k, ok := ParseKey(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, k, in)
	}
	for _, in := range []string{"", "PV_LOG_LEVE", "PV_SYSCTL_KERNEL_CORE_PATTERN", "sysctl.kernel.x", "log.maxsize"} {
		_, ok := ParseKey(in)
		assert.False(t, ok, "%q", in)
	}
}

func TestValueGetters(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelPVConf, "PV_LOG_DIR_MAXSIZE", "10%"))
	require.NoError(t, c.Set(LevelEnv, "PV_STORAGE_WAIT", "2min"))
	n, pct := c.Get(LogDirMaxsize).Size()
	assert.Equal(t, int64(10), n)
	assert.True(t, pct)
	assert.Equal(t, LevelPVConf, c.Get(LogDirMaxsize).Level())
	assert.Equal(t, 2*time.Minute, c.Get(StorageWait).Duration())
	assert.Equal(t, 120, c.Get(StorageWait).Int())
	assert.Equal(t, "120", c.Get(StorageWait).String())
	assert.True(t, c.Get(SecurebootChecksum).Bool())
	assert.Equal(t, LevelDefault, c.Get(SecurebootChecksum).Level())
	var zero Value
	assert.Equal(t, "", zero.String())
	assert.False(t, zero.Bool())
	assert.Equal(t, time.Duration(0), zero.Duration())
}

// TestOverride: an override wins over every level, even for a key whose
// mask has no LevelCmd, is type-checked, and Unset uncovers the value below.
func TestOverride(t *testing.T) {
	c := New()
	require.NoError(t, c.Set(LevelEnv, "PV_SYSTEM_RUNDIR", "/env/pv"))
	require.ErrorIs(t, c.Set(LevelCmd, "PV_SYSTEM_RUNDIR", "/x"), ErrNotAllowed, "Set keeps the mask")
	require.NoError(t, c.Override(SystemRundir, "/tmp/rd"))
	assert.Equal(t, "/tmp/rd", c.Get(SystemRundir).String())
	assert.Equal(t, LevelCmd, c.Get(SystemRundir).Level())

	require.NoError(t, c.Override(LogLevel, "5"))
	require.NoError(t, c.Set(LevelMeta, "PV_LOG_LEVEL", "2"))
	assert.Equal(t, 5, c.Get(LogLevel).Int(), "metadata is below the override")

	err := c.Override(StorageWait, "soon")
	require.ErrorIs(t, err, ErrBadValue)
	assert.Contains(t, err.Error(), "PV_STORAGE_WAIT")
	assert.Equal(t, LevelDefault, c.Get(StorageWait).Level(), "a bad value changes nothing")
	err = c.Override(PHCredsSecret, "")
	require.NoError(t, err, "a STRING accepts anything")
	require.ErrorIs(t, c.Override(numKeys, "x"), ErrUnknownKey)

	require.NoError(t, c.Unset(LevelCmd, "PV_SYSTEM_RUNDIR"))
	assert.Equal(t, "/env/pv", c.Get(SystemRundir).String())
}
