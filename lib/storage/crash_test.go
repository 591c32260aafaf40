package storage

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/persist"
)

// Environment of the crash child: the storage to install into and the
// crash point (1-based) at which the process dies.
const (
	envCrashStorage = "PV_TEST_CRASH_STORAGE"
	envCrashAt      = "PV_TEST_CRASH_AT"
	envCrashStep    = "PV_TEST_CRASH_STEP" // set: the child uploads a local step instead
	crashExit       = 77                   // the child died at its crash point
	finishedExit    = 0                    // the child reached the end without crashing
)

// TestMain serves the crash child when the environment asks for it: the
// process installs revision 1 and exits dead (no deferred cleanup, no
// flush) at crash point N, as a power cut would stop it.
func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashStorage); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(envCrashAt)))
	}
	os.Exit(m.Run())
}

func crashChild(dir, at string) int {
	n, _ := strconv.Atoi(at)
	count := 0
	w := &persist.Writer{Crash: func(point string) {
		count++
		if count == n {
			fmt.Fprintf(os.Stderr, "crash at %d: %s\n", n, point)
			os.Exit(crashExit)
		}
	}}
	s, err := Open(dir, Options{Writer: w})
	switch {
	case err != nil:
	case os.Getenv(envCrashStep) != "":
		_, err = s.PutState("locals/x", -1, strings.NewReader(newStepState))
	default:
		fx := newFixture("new")
		_, err = s.Install("1", fx.json, fx.opener())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return finishedExit
}

// TestInstallCrashWalk stops a revision install dead at every crash point
// in turn. After each crash, re-opening the storage must find revision 1
// either absent or complete (its integrity check passes), revision 0
// untouched, no object under a wrong name, no leftover, and a retried
// install must succeed.
func TestInstallCrashWalk(t *testing.T) {
	points := 0
	for n := 1; ; n++ {
		dir := t.TempDir()
		base := openStorage(t, dir)
		fx0 := newFixture("old") // shares the BSP objects with revision 1
		_, err := base.Install("0", fx0.json, fx0.opener())
		require.NoError(t, err)

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashStorage+"="+dir, envCrashAt+"="+strconv.Itoa(n))
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		require.Contains(t, []int{crashExit, finishedExit}, code, "child: %v\n%s", err, out)

		s := openStorage(t, dir)
		objectsConsistent(t, s)
		_, err = s.Verify("0")
		require.NoError(t, err, "revision 0 after crash at %d (%s)", n, out)
		if s.HasRevision("1") {
			_, err = s.Verify("1")
			require.NoError(t, err, "revision 1 is complete after crash at %d (%s)", n, out)
		} else {
			fx := newFixture("new")
			_, err = s.Install("1", fx.json, fx.opener())
			require.NoError(t, err, "retry after crash at %d (%s)", n, out)
		}
		if code == finishedExit {
			points = n - 1
			break
		}
	}
	t.Logf("walked %d crash points of a revision install", points)
	require.Greater(t, points, 20, "an install has many persistence steps")
}

const (
	oldStepState = `{"#spec":"pantavisor-service-system@1"}`
	newStepState = `{ "#spec": "pantavisor-service-system@1" }`
)

// TestPutStateCrashWalk stops the replacement of local step locals/x dead
// at every crash point. After each crash, re-opening the storage must find
// locals/x absent, old or new (never a state that is neither, never
// without its progress), and no staging leftover; a retry must succeed.
func TestPutStateCrashWalk(t *testing.T) {
	points := 0
	for n := 1; ; n++ {
		dir := t.TempDir()
		base := openStorage(t, dir)
		_, err := base.PutState("locals/x", -1, strings.NewReader(oldStepState))
		require.NoError(t, err)

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashStorage+"="+dir, envCrashAt+"="+strconv.Itoa(n), envCrashStep+"=1")
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		require.Contains(t, []int{crashExit, finishedExit}, code, "child: %v\n%s", err, out)

		s := openStorage(t, dir)
		require.Empty(t, tmpLeft(t, s), "after crash at %d (%s)", n, out)
		if s.HasRevision("locals/x") {
			got, err := s.StateJSON("locals/x")
			require.NoError(t, err, "crash at %d (%s)", n, out)
			require.Contains(t, []string{oldStepState, newStepState}, string(got), "crash at %d (%s)", n, out)
			require.Equal(t, `{"status":"NEW","status-msg":"Update ready to be run","progress":0,"retries":0}`,
				readProgress(t, s, "locals/x"), "crash at %d (%s)", n, out)
		}
		_, err = s.PutState("locals/x", -1, strings.NewReader(newStepState))
		require.NoError(t, err, "retry after crash at %d (%s)", n, out)
		if code == finishedExit {
			points = n - 1
			break
		}
	}
	t.Logf("walked %d crash points of a local step upload", points)
	require.Greater(t, points, 8)
}
