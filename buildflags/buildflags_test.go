package buildflags

import (
	"slices"
	"strings"
	"testing"
)

// TestArgs checks the list parses to build flags only: no comment text,
// no blank argument, -trimpath present and every entry a flag.
func TestArgs(t *testing.T) {
	args := Args()
	if !slices.Contains(args, "-trimpath") {
		t.Errorf("Args() = %q, want -trimpath in it", args)
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") || strings.ContainsAny(a, "# \t") {
			t.Errorf("Args() has %q, want flags only", a)
		}
	}
}
