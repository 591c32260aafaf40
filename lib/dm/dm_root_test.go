package dm

import (
	"errors"
	"os"
	"testing"

	"pantavisor/lib/testenv"
)

// TestCreateRemove maps a zero target (no backing device needed) and
// removes it. The host kernel of the development VM has no device-mapper:
// the QEMU disk test covers it there.
func TestCreateRemove(t *testing.T) {
	testenv.RequireRoot(t)
	var c Control
	if _, err := c.Version(); errors.Is(err, ErrNoDM) {
		testenv.RequireKernelFeature(t, false, "device-mapper (CONFIG_BLK_DEV_DM)", "the QEMU crypt disk test")
	} else if err != nil {
		t.Fatal(err)
	}
	name := "pvgo-test-" + t.Name()
	node, err := c.Create(name, 8, "zero", "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove(name)
	if _, err := os.Stat(node); err != nil {
		t.Errorf("node: %v", err)
	}
	h, err := c.Status(name)
	if err != nil || h.Dev == 0 {
		t.Errorf("status %+v: %v", h, err)
	}
	if err := c.Remove(name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(node); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("node left after Remove: %v", err)
	}
}
