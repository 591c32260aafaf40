package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/multicall"
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

// TestMulticallNames holds lib/multicall's copy of the applet names (what
// lib/launch links in a container's /pantavisor/bin) equal to the table.
func TestMulticallNames(t *testing.T) {
	var names []string
	for _, a := range applets {
		names = append(names, a.name)
	}
	assert.Equal(t, names, multicall.Names[:])
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

// TestNotAnAppletNorOption: "pantavisor WORD" with a WORD that is no
// applet, option or pantavisor command is a usage error with the list,
// not the PID 1 applet's "not running as PID 1".
func TestNotAnAppletNorOption(t *testing.T) {
	code, out, errs := call3("pantavisor", "no-such-applet", "x")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.True(t, strings.HasPrefix(errs, "pantavisor: no-such-applet is not an applet nor an option\nUsage: pantavisor APPLET"), errs)
	assert.Contains(t, errs, "pv-ctl")
	assert.NotContains(t, errs, "not running as PID 1")

	// The applet's own commands and options still reach it.
	for _, args := range [][]string{{"pantavisor", "validate", "--help"}, {"pantavisor", "install", "--help"}, {"pantavisor", "--appengine", "--help"}} {
		code, out, _ := call3(args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Contains(t, out, "sage", "%v", args)
	}
	code, _, errs = call3("pantavisor", "--no-such-option")
	assert.Equal(t, exitUsage, code, "a bad option is the applet's usage error")
	assert.NotContains(t, errs, "is not an applet")
}

func TestNotAWord(t *testing.T) {
	for _, tc := range []struct {
		word string
		pid  int
		want bool
	}{
		{"no-such-applet", 4242, true},
		{"", 4242, true},
		{"no-such-applet", 1, false}, // PID 1 ignores the kernel's extra words
		{"validate", 4242, false},
		{"install", 4242, false},
		{"--main-loop", 4242, false},
		{"--supervise", 4242, false},
		{"--appengine", 4242, false},
		{"-h", 4242, false},
	} {
		assert.Equal(t, tc.want, notAWord(tc.word, tc.pid), "%q as pid %d", tc.word, tc.pid)
	}
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
