package power

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestActions pins each action's console name and reboot(2) command: a
// swapped pair would restart a device asked to power off.
func TestActions(t *testing.T) {
	for _, c := range []struct {
		a    Action
		name string
		cmd  int
		ok   bool
	}{
		{PowerOff, "power off", unix.LINUX_REBOOT_CMD_POWER_OFF, true},
		{Restart, "restart", unix.LINUX_REBOOT_CMD_RESTART, true},
		{Action(7), "Action(7)", 0, false},
		{Action(-1), "Action(-1)", 0, false},
	} {
		assert.Equal(t, c.name, c.a.String())
		cmd, ok := c.a.cmd()
		assert.Equal(t, c.cmd, cmd, c.name)
		assert.Equal(t, c.ok, ok, c.name)
	}
}

// TestDoRejectsUnknownAction checks that an unknown action fails before
// any syscall (so this test cannot reboot the machine running it).
func TestDoRejectsUnknownAction(t *testing.T) {
	assert.ErrorIs(t, Do(Action(7)), unix.EINVAL)
}
