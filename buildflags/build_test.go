package buildflags

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuild builds the device binary as it ships and with KeepLines: the
// shipped one is smaller and runs (it lists its applets).
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	shipped, kept := filepath.Join(dir, "pantavisor"), filepath.Join(dir, "pantavisor.debug")
	for _, b := range []Build{{Dir: "..", Out: shipped}, {Dir: "..", Out: kept, KeepLines: true}} {
		if err := b.Run(); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(shipped, "--list").Output()
	if err != nil || !strings.Contains(string(out), "pv-ctl\n") {
		t.Fatalf("%s --list: %v\n%s", shipped, err, out)
	}
	s, err := os.Stat(shipped)
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.Stat(kept)
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() >= k.Size() {
		t.Errorf("shipped binary %d bytes, with its tables %d: want it smaller", s.Size(), k.Size())
	}
}
