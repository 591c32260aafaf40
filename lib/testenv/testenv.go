// Package testenv lets tests that need the real kernel, root or QEMU say
// exactly which capability they miss: a loud skip on a developer machine, a
// failure in CI (CI=true or PV_REQUIRE_ALL=1), where every capability must
// be present.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether a missing capability must fail the test.
func Strict() bool {
	return os.Getenv("CI") == "true" || os.Getenv("PV_REQUIRE_ALL") == "1"
}

// Require skips (or, when Strict, fails) t unless ok; what names the
// capability, e.g. "needs root" or "needs qemu-system-x86_64 (make deps)".
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if Strict() {
		t.Fatalf("MISSING CAPABILITY (fatal in CI): %s", what)
	}
	t.Skipf("SKIPPED, MISSING CAPABILITY: %s", what)
}

// RequireRoot needs euid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "needs root")
}

// RequireCommand needs an executable on PATH.
func RequireCommand(t testing.TB, name, hint string) {
	t.Helper()
	_, err := exec.LookPath(name)
	Require(t, err == nil, "needs "+name+" on PATH ("+hint+")")
}
