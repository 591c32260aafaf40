package image

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestScenarioExitingApp (c): an update whose web container exits right
// at its start (auto_recovery "no") fails: ERROR, and the device reboots
// by itself into revision 0, which is still DONE and runs all its
// containers again; nothing is left to try.
func TestScenarioExitingApp(t *testing.T) {
	s := startScenario(t, "exiting", ExitingApp(), "", false)
	run := s.installed()
	s.expect(statusRE(s.rev, "INPROGRESS"), 60*time.Second, "the updater installs the step")
	m, failed := s.expect(statusRE(s.rev, "ERROR"), 120*time.Second, "web exits: the update fails")
	t.Logf("failure: %s", m)
	s.expect(`Restarting system`, 60*time.Second, "the failure reboots")
	s.expect(`pv: booting revision 0 \r?\n`, 120*time.Second, "GRUB boots revision 0, nothing to try")
	_, ready := s.expect(`revision 0 status READY`, 240*time.Second, "revision 0 runs again")
	t.Logf("(c) LOCAL_RUN -> ERROR %.1fs, -> revision 0 READY again %.1fs (TCG)", failed.Sub(run).Seconds(), ready.Sub(run).Seconds())
	assert.Contains(t, s.vm.Console(), ExitingAppLine, "the new web ran and exited")
	rollbackChecks(t, s)
}

// TestScenarioNeverReady (d): an update adding a container whose READY
// status goal never arrives (group app's timeout cut to 8 s) reboots
// into a try, the goal times out there, the update fails with ERROR
// "Status goal not reached" and the device reboots into revision 0.
func TestScenarioNeverReady(t *testing.T) {
	s := startScenario(t, "never", NeverReady(8), "pv_updater_goals_timeout=60", false)
	run := s.installed()
	s.expect(statusRE(s.rev, "INPROGRESS"), 60*time.Second, "the updater installs the step")
	s.expect(`Restarting system`, 120*time.Second, "device.json changed: a reboot")
	s.expect(`pv: booting revision `+q(s.rev)+` pv_try=`+q(s.rev), 120*time.Second, "GRUB tries the new revision")
	from := s.cursor
	_, started := s.expect(`container waiter started \(group app\)`, 240*time.Second, "waiter starts")
	s.expect(`container waiter did not reach READY within 8s`, 60*time.Second, "the group's timeout")
	_, failed := s.expect(statusRE(s.rev, "ERROR")+`[^\n]*`, 60*time.Second, "the update fails")
	s.expect(`Restarting system`, 60*time.Second, "the failure reboots")
	s.expect(`pv: booting revision 0 \r?\n`, 120*time.Second, "GRUB boots revision 0")
	_, ready := s.expect(`revision 0 status READY`, 240*time.Second, "revision 0 runs again")
	s.seen(from, q(NeverReadyLine), 60*time.Second, "waiter ran")
	t.Logf("(d) waiter started -> ERROR %.1fs (goal timeout 8 s); LOCAL_RUN -> revision 0 READY again %.1fs, two reboots (TCG)",
		failed.Sub(started).Seconds(), ready.Sub(run).Seconds())
	st := rollbackChecks(t, s)
	assert.Equal(t, "Status goal not reached", st.progress(s.rev).Msg)
}

// rollbackChecks waits until revision 0 has all three containers up
// again after a failed update, powers off, and checks the storage: the
// update's progress ERROR, pv_rev 0 DONE, no pv_try nor latch left.
func rollbackChecks(t *testing.T, s *scenario) *storageImage {
	t.Helper()
	all := s.vm.Console()
	last := all[strings.LastIndex(all, "pv: booting revision"):]
	assert.True(t, strings.HasPrefix(last, "pv: booting revision 0 "), "the last boot is revision 0's")
	for _, c := range []string{"os started (group root)", "mgmt started (group platform)", "web started (group app)"} {
		assert.Equal(t, 1, strings.Count(last, "container "+c), "after the rollback: container %s", c)
	}
	assert.NotContains(t, last, "exited")
	assert.Contains(t, s.vm.Console(), "resume: booted 0 (trying false, pv_rev 0, pv_try \"\")", "Fail unset pv_try before the reboot")
	st := s.powerOff()
	p := st.progress(s.rev)
	assert.Equal(t, "ERROR", p.Status, "%+v", p)
	t.Logf("progress of %s: %s %q, logs %q", s.rev, p.Status, p.Msg, p.Logs)
	env := st.env(st.pvEnv)
	assert.Equal(t, "0", env["pv_rev"])
	assert.Empty(t, env["pv_try"])
	assert.Empty(t, s.latch(st)["pv_trying"], "Fail cleared the bootloader's latch")
	assert.Equal(t, "Factory revision", st.progress("0").Msg, "revision 0 is still the factory DONE")
	assert.Equal(t, "0", st.checkConsistent())
	return st
}
