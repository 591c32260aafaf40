package sentinel

import (
	"errors"
	"fmt"
	"testing"
)

var (
	errA error = &Error{Text: "same text"}
	errB error = &Error{Text: "same text"}
)

// TestIdentity checks a sentinel behaves as errors.New's: its text, a
// match through %w wrapping, and no match with another sentinel of the
// same text.
func TestIdentity(t *testing.T) {
	if got := errA.Error(); got != "same text" {
		t.Errorf("Error() = %q, want %q", got, "same text")
	}
	wrapped := fmt.Errorf("doing x: %w", errA)
	if !errors.Is(wrapped, errA) {
		t.Errorf("errors.Is(%v, errA) = false, want true", wrapped)
	}
	if errors.Is(wrapped, errB) {
		t.Errorf("errors.Is(%v, errB) = true, want false: sentinels match by address", wrapped)
	}
}
