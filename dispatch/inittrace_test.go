package main

import (
	"bytes"
	"os"
	"os/exec"
	"pantavisor/lib/testenv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoInitWork builds the device binary as the Makefile does and runs
// `pantavisor --list` with GODEBUG=inittrace=1. The runtime traces every
// package that does work at init time; none may be ours (package main or
// pantavisor/...), or every applet would pay for it. The trace must name
// some standard package, so a trace that silently stopped working fails too.
func TestNoInitWork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := testenv.BuildDevice(t, filepath.Join(t.TempDir(), "pantavisor"), "-s -w")

	cmd := exec.Command(bin, "--list")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
	assert.Contains(t, strings.Fields(stdout.String()), "pvtx", "--list still works")

	var traced []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "init" && strings.HasPrefix(f[2], "@") {
			traced = append(traced, f[1])
		}
	}
	require.Contains(t, traced, "runtime", "inittrace printed nothing usable:\n%s", stderr.String())
	for _, pkg := range traced {
		assert.False(t, pkg == "main" || strings.HasPrefix(pkg, "pantavisor/"),
			"package %s does work at init time (built without inlining, buildflags/flags.txt, its "+
				"sentinels must be &sentinel.Error{...} literals, not errors.New):\n%s", pkg, stderr.String())
	}
}
