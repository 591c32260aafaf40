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

// TestRestoreAfterAll checks that every per-package -gcflags pattern comes
// after the all= one: the go command applies the last pattern matching a
// package, so one placed before would be overridden by all=-l.
func TestRestoreAfterAll(t *testing.T) {
	all := false
	for _, a := range Args() {
		switch {
		case strings.HasPrefix(a, "-gcflags=all="):
			all = true
		case strings.HasPrefix(a, "-gcflags=") && !all:
			t.Errorf("%q comes before -gcflags=all= and is overridden by it", a)
		}
	}
}
