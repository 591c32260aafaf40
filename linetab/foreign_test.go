package linetab_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pantavisor/lib/testenv"
	"pantavisor/linetab"
)

// TestForeignArchesRun runs the crash program stripped and unstripped for
// 32-bit arm and arm64 under QEMU's user mode: the stripped binaries (their
// compacted layouts included) run and panic as the unstripped ones do, and
// Symbolize gives back the unstripped ones' positions.
func TestForeignArchesRun(t *testing.T) {
	for _, c := range []struct{ arch, qemu string }{{"arm", "qemu-arm"}, {"arm64", "qemu-aarch64"}} {
		testenv.RequireCommand(t, c.qemu, "make deps installs qemu-user")
		dir := t.TempDir()
		debug := filepath.Join(dir, "crash.debug")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", debug, "./testdata/crash")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+c.arch, "GOARM=7")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		stripped := filepath.Join(dir, "crash")
		if _, err := linetab.StripFile(debug, stripped); err != nil {
			t.Fatal(err)
		}
		bin, err := os.ReadFile(debug)
		if err != nil {
			t.Fatal(err)
		}
		sym, err := linetab.NewSymbolizer(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"map", "nil", "goroutine"} {
			want, got := run(t, c.qemu, debug, mode), run(t, c.qemu, stripped, mode)
			var out bytes.Buffer
			if _, err := sym.Symbolize(strings.NewReader(got), &out); err != nil {
				t.Fatal(err)
			}
			if p, w := positionLines(out.String()), positionLines(want); p != w || !strings.Contains(got, "?:0 +0x") {
				t.Errorf("%s %s: symbolized positions\n%s\nwant\n%s\n(stripped output:\n%s)", c.arch, mode, p, w, got)
			}
		}
	}
}

// run runs a crash binary under qemu and returns what it printed; it must
// end in a panic (exit 2).
func run(t *testing.T, qemu, bin, mode string) string {
	t.Helper()
	cmd := exec.Command(qemu, bin, mode)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("%s %s %s: %v, want a panic's exit 2\n%s", qemu, bin, mode, err, out)
	}
	return string(out)
}

// positionLines returns a traceback's position lines, one a line.
func positionLines(trace string) string {
	var out []string
	for _, l := range strings.Split(trace, "\n") {
		if strings.HasPrefix(l, "\t") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
