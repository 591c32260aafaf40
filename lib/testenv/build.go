package testenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pantavisor/buildflags"
)

// BuildDevice builds the device binary (./dispatch of this module) to
// out as it ships (buildflags.Build: static, -trimpath, the -gcflags, line
// tables stripped), plus ldflags when not "". It returns out.
func BuildDevice(t testing.TB, out, ldflags string) string {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	must(t, err)
	b := buildflags.Build{Dir: filepath.Dir(strings.TrimSpace(string(mod))), LDFlags: ldflags, Out: out}
	if err := b.Run(); err != nil {
		t.Fatal(err)
	}
	return out
}
