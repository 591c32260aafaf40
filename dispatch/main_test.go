package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func call3(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestListIsSortedAndComplete(t *testing.T) {
	code, out, _ := call3("pantavisor", "--list")
	require.Equal(t, 0, code)
	names := strings.Fields(out)
	for _, want := range []string{"init", "pantavisor", "pv-ctl", "pvcontrol", "pventer", "pvlogger", "pvtx", "pv-container", "modprobe", "insmod"} {
		assert.Contains(t, names, want)
	}
	assert.IsNonDecreasing(t, names)
}

func TestEveryAppletAnswersHelp(t *testing.T) {
	for _, a := range applets {
		for _, args := range [][]string{{"/usr/bin/" + a.name, "--help"}, {"pantavisor", a.name, "--help"}} {
			code, out, _ := call3(args...)
			assert.Equal(t, 0, code, "%v", args)
			assert.Contains(t, out, "Usage", "%v", args)
		}
	}
}

// TestUnimplementedSaysSo checks the nil-main path on a row made here:
// every applet of the table is implemented now.
func TestUnimplementedSaysSo(t *testing.T) {
	a := applet{name: "future", summary: "an applet still to come"}
	var out, errb bytes.Buffer
	code := call(&a, []string{"future", "begin"}, strings.NewReader(""), &out, &errb)
	assert.Equal(t, exitNotImplemented, code)
	assert.Contains(t, errb.String(), "future: not implemented")
	out.Reset()
	code = call(&a, []string{"future", "--help"}, strings.NewReader(""), &out, &errb)
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "Not implemented yet")
}

func TestUnknownApplet(t *testing.T) {
	code, _, errs := call3("nosuch")
	assert.Equal(t, exitUnknown, code)
	assert.Contains(t, errs, "applet not found")
	assert.Contains(t, errs, "pv-ctl")
}

func TestInstallCreatesLinksAndSparesFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modprobe"), []byte("busybox"), 0o755))
	code, _, errs := call3("pantavisor", "--install", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "not a symlink")
	for _, a := range applets {
		fi, err := os.Lstat(filepath.Join(dir, a.name))
		require.NoError(t, err, a.name)
		if a.name != "modprobe" {
			assert.NotZero(t, fi.Mode()&os.ModeSymlink, a.name)
		}
	}
}
