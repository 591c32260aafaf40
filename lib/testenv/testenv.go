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

// RequireKernelFeature skips t unless ok, even in CI, for a feature the
// host kernel was built without (no setup step can add it, e.g. module
// loading on a CONFIG_MODULES=n VM kernel). coveredBy names the test that
// exercises the feature on a real kernel instead (a QEMU boot), so the
// behaviour is still proven in CI; the skip says so loudly.
func RequireKernelFeature(t testing.TB, ok bool, what, coveredBy string) {
	t.Helper()
	if !ok {
		t.Skipf("SKIPPED, HOST KERNEL LACKS A FEATURE: %s; covered by %s", what, coveredBy)
	}
}
