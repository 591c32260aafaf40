package pantavisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func installRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(append([]string{"pantavisor", "install"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestInstallPackages(t *testing.T) {
	for pkg, want := range map[string]string{
		"pvwificonnect.tgz":   "installed revision 0: 1 containers, 3 objects (3 hashed, 0 left to dm-verity or the bootloader)\n",
		"watchdog_pinger.tar": "installed revision 0: 1 containers, 3 objects (3 hashed, 0 left to dm-verity or the bootloader)\n",
	} {
		t.Run(pkg, func(t *testing.T) {
			dir := t.TempDir()
			code, out, errOut := installRun("--storage", dir, resources+pkg)
			require.Equal(t, 0, code, errOut)
			assert.Equal(t, want, out)
			assert.FileExists(t, filepath.Join(dir, "trails", "0", ".pvr", "json"))

			code, _, errOut = installRun("--storage", dir, resources+pkg)
			assert.Equal(t, 1, code)
			assert.Equal(t, "ERROR: revision already exists: 0\n", errOut)

			// A trail installs into another storage as a local revision.
			other := t.TempDir()
			code, out, errOut = installRun("--storage", other, "--rev", "locals/copy", filepath.Join(dir, "trails", "0"))
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "installed revision locals/copy")
		})
	}
}

// TestInstallFlippedByte: the package with one byte of its rootfs flipped
// is refused with exit 1 and the storage holds nothing.
func TestInstallFlippedByte(t *testing.T) {
	data, err := os.ReadFile(resources + "watchdog_pinger.tar")
	require.NoError(t, err)
	at := bytes.Index(data, []byte("hsqs")) // squashfs magic: the rootfs object
	require.Positive(t, at)
	data[at+1000] ^= 0x01
	pkg := filepath.Join(t.TempDir(), "flipped.tar")
	require.NoError(t, os.WriteFile(pkg, data, 0o644))

	dir := t.TempDir()
	code, out, errOut := installRun("--storage", dir, pkg)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "ERROR: reading package: objects/2a267f8d5a928c8d4bdab8ca126df84e5c8f989d1150e7b0766515f6befaaa44: installing object 2a267f8d5a928c8d4bdab8ca126df84e5c8f989d1150e7b0766515f6befaaa44: checksum mismatch: content hashes to ")
	for _, sub := range []string{"objects", "trails"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		require.NoError(t, err)
		assert.Empty(t, entries, sub)
	}
}

func TestInstallErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"#spec":"pantavisor-service-system@1","a/run.json":{"name":"a","group":"x"}}`), 0o644))
	pkgDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(pkgDir, "json"), []byte(`{"#spec":"pantavisor-service-system@1","a/run.json":{"name":"a","group":"x"}}`), 0o644))
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"--storage", dir, pkgDir}, 1, "ERROR: a/run.json: group: unknown group \"x\"\n"},
		{[]string{"--storage", dir, bad}, 1, "ERROR: reading package: "},
		{[]string{"--storage", dir, "--rev", "../x", resources + "pvwificonnect.tgz"}, 1, "ERROR: invalid revision name \"../x\""},
		{[]string{"--storage", dir, "/nonexistent.tgz"}, 1, "no such file or directory"},
		{[]string{"--storage", dir}, 2, "usage: pantavisor install"},
		{[]string{resources + "pvwificonnect.tgz"}, 2, "usage: pantavisor install"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
	} {
		code, _, errOut := installRun(tc.args...)
		assert.Equal(t, tc.code, code, tc.args)
		assert.Contains(t, errOut, tc.err, tc.args)
	}
	code, out, _ := installRun("--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: pantavisor install --storage DIR")
}
