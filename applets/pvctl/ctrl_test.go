package pvctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/ctrl"
	"pantavisor/lib/storage"
)

// TestAgainstCtrl runs pv-ctl against the device's own pv-ctrl server
// (lib/ctrl on a temporary storage): a local update's client side, and
// the exit codes of real error replies.
func TestAgainstCtrl(t *testing.T) {
	if _, err := os.Stat(conformancePkg); err != nil {
		t.Skipf("SKIP LOUDLY: conformance package %s not found (%v)", conformancePkg, err)
	}
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	sock := filepath.Join(dir, "pv-ctrl")
	// The package is signed with upstream's development certificate,
	// which an empty trust store refuses (422 Secureboot, shown below):
	// the client side of a local update is tested with signatures off.
	cfg := config.New()
	require.NoError(t, cfg.Override(config.SecurebootMode, "disabled"))
	s := &ctrl.Server{Socket: sock, Storage: st, Config: cfg, Identify: func(int) (string, error) { return "", nil }}
	require.NoError(t, s.Start())
	t.Cleanup(func() { s.Close() })
	pvctl := func(args ...string) result { return run(t, "", false, append([]string{"-s", sock}, args...)...) }

	r := pvctl("-m", "wifi", "steps", "install", conformancePkg, "locals/wifi")
	require.Equal(t, result{0, "{\"revision\":\"locals/wifi\"}\n", r.stderr}, r)
	assert.Equal(t, 3, strings.Count(r.stderr, "uploading "))
	r = pvctl("objects", "ls")
	assert.Equal(t, 3, strings.Count(r.stdout, `"sha256"`), r.stdout)
	r = pvctl("steps", "ls")
	assert.Contains(t, r.stdout, `{"name":"locals/wifi", `)
	assert.Contains(t, r.stdout, `"commitmsg":"wifi"`)

	// Again: nothing to upload.
	r = pvctl("steps", "install", conformancePkg, "locals/wifi")
	assert.Equal(t, result{0, "{\"revision\":\"locals/wifi\"}\n", ""}, r)

	r = pvctl("steps", "show-progress", "locals/wifi")
	assert.Equal(t, result{0, `{"status":"NEW","status-msg":"Update ready to be run","progress":0,"retries":0}` + "\n", ""}, r)
	assert.Equal(t, result{0, "\n", ""}, pvctl("cmd", "run", "locals/wifi"))
	assert.Equal(t, 75, pvctl("cmd", "run", "locals/wifi").code, "one command pending")
	assert.Equal(t, 60, pvctl("objects", "put", conformancePkg, strings.Repeat("0", 64)).code)
	assert.Equal(t, 255, pvctl("steps", "get", "locals/nope").code)
	r = pvctl("storage", "gc")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, `{"reclaimed": `), r.stdout)

	require.NoError(t, cfg.Override(config.SecurebootMode, "lenient"))
	r = pvctl("steps", "install", conformancePkg, "locals/wifi2")
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, `{"Error":"Secureboot: Signature validation failed"}`, "the device's default mode refuses an untrusted signer")
}
