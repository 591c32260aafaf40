package dm

import (
	"errors"
	"testing"
)

func TestNoDM(t *testing.T) {
	c := Control{Dev: t.TempDir()}
	if _, err := c.Create("x", 8, "zero", ""); !errors.Is(err, ErrNoDM) {
		t.Errorf("Create without control node: %v, want ErrNoDM", err)
	}
}
