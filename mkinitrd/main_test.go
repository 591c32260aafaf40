package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testApplets is the applet list the tests give -applets, in no particular
// order: mkinitrd must sort what it writes.
var testApplets = []string{"pvtx", "init", "pantavisor", "pv-ctl", "insmod", "modprobe"}

// fakeInputs writes a stand-in device binary and an applet list into dir and
// returns their paths.
func fakeInputs(t *testing.T, dir string) (bin, applets string) {
	t.Helper()
	bin = filepath.Join(dir, "pantavisor")
	require.NoError(t, os.WriteFile(bin, []byte("\x7fELF not really a binary\n"), 0o755))
	applets = filepath.Join(dir, "applets")
	var list bytes.Buffer
	for _, n := range testApplets {
		list.WriteString(n + "\n")
	}
	require.NoError(t, os.WriteFile(applets, list.Bytes(), 0o644))
	return bin, applets
}

// mkinitrd runs the command line with args and returns the bytes it wrote
// to out.
func mkinitrd(t *testing.T, out string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	require.NoError(t, run(append(args, "-o", out), &stderr), "stderr: %s", stderr.String())
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	_, err = os.Stat(out + ".tmp")
	require.ErrorIs(t, err, os.ErrNotExist, "the temporary file is renamed away")
	return data
}

// TestBuildTwiceSameBytes builds the whole initramfs twice from the same
// inputs, touching the binary in between, and wants identical bytes: no
// mtime, map order or output path may leak into the image.
func TestBuildTwiceSameBytes(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	a := mkinitrd(t, filepath.Join(dir, "a", "initrd.img"), "-binary", bin, "-applets", applets)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(bin, later, later))
	b := mkinitrd(t, filepath.Join(dir, "b.img"), "-binary", bin, "-applets", applets)
	require.NotEmpty(t, a)
	require.True(t, bytes.Equal(a, b), "two builds differ (%d and %d bytes)", len(a), len(b))
}

// TestBuildFailsWithoutInputs checks that a missing binary or an empty
// applet list is an error and leaves no image behind.
func TestBuildFailsWithoutInputs(t *testing.T) {
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n\n"), 0o644))
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("init\n../etc/passwd\n"), 0o644))
	for name, args := range map[string][]string{
		"no binary":     {"-binary", filepath.Join(dir, "nosuch"), "-applets", applets},
		"no applets":    {"-binary", bin, "-applets", empty},
		"bad applet":    {"-binary", bin, "-applets", bad},
		"board no kdir": {"-binary", bin, "-applets", applets, "-board", "qemu-x86_64"},
	} {
		out := filepath.Join(dir, "out.img")
		var stderr bytes.Buffer
		require.Error(t, run(append(args, "-o", out), &stderr), name)
		_, err := os.Stat(out)
		require.ErrorIs(t, err, os.ErrNotExist, name)
	}
}
