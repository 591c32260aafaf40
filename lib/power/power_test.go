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
	}{
		{PowerOff, "power off", unix.LINUX_REBOOT_CMD_POWER_OFF},
		{Restart, "restart", unix.LINUX_REBOOT_CMD_RESTART},
	} {
		assert.Equal(t, c.name, c.a.String())
		assert.Equal(t, c.cmd, cmds[c.a], c.name)
	}
	assert.Len(t, cmds, 2, "every action has a command")
	assert.Equal(t, "Action(7)", Action(7).String())
	assert.Equal(t, "Action(-1)", Action(-1).String())
}
