package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pantavisor/buildflags"
)

// BuildDevice builds the device binary (./dispatch of this module) to
// out as the Makefile does: static, with buildflags.Args (-trimpath, the
// -gcflags), plus ldflags when not "".
// It returns out.
func BuildDevice(t testing.TB, out, ldflags string) string {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	must(t, err)
	args := append([]string{"build"}, buildflags.Args()...)
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command("go", append(args, "-o", out, "./dispatch")...)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./dispatch: %v\n%s", err, b)
	}
	return out
}
