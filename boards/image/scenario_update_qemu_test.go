package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScenarioAppOnlyUpdate (a): an update that changes only the web
// container (restart_policy container), uploaded by mgmt from the
// package disk and run with LOCAL_RUN, is applied without a reboot:
// only web is stopped and started again, the os container's PID 1 is the
// same process before and after, and the revision ends UPDATED. On the
// storage afterwards: progress UPDATED, pv_rev still 0 (a swap sets no
// rollback point) and pv_try the new revision (the next reboot tries it,
// reference §3.5).
func TestScenarioAppOnlyUpdate(t *testing.T) {
	s := startScenario(t, "app", AppOnlyChange("2"), "", true)
	m, _ := s.seen(0, osStartRE.String(), 240*time.Second, "os prints its PID 1's start time")
	osBefore := osStartRE.FindStringSubmatch(m)[1]
	stop := make(chan struct{})
	probe := s.probe(stop)
	run := s.installed()

	s.expect(statusRE(s.rev, "INPROGRESS"), 60*time.Second, "the updater installs the step")
	_, stopping := s.expect(`transition: stopping \[web\]`, 60*time.Second, "only web is stopped")
	from := s.cursor
	_, started := s.expect(`container web started \(group app\)`, 60*time.Second, "the new web starts")
	s.expect(statusRE(s.rev, "TESTING"), 60*time.Second, "goals reached: TESTING")
	_, updated := s.expect(statusRE(s.rev, "UPDATED"), 60*time.Second, "commit delay and stable web: UPDATED")
	s.seen(from, q(VersionLine("web", "2")), 60*time.Second, "the new web runs")
	_, up := s.seen(from, `web: httpd on port 80`, 60*time.Second, "the new web serves again")
	m, _ = s.seen(s.cursor, osStartRE.String(), 30*time.Second, "os still prints")
	osAfter := osStartRE.FindStringSubmatch(m)[1]
	close(stop)
	web := <-probe
	assert.True(t, web.first.Before(stopping) && web.last.After(up), "the page answered before and after the swap")
	t.Logf("(a) LOCAL_RUN -> UPDATED %.1fs (commit delay 3 s, stable_timeout 5 s); web: stopping -> started %.1fs, "+
		"-> new httpd's line on the console %.1fs (log server batches it), longest gap between HTTP 200 answers %.1fs (TCG, host clock)",
		updated.Sub(run).Seconds(), started.Sub(stopping).Seconds(), up.Sub(stopping).Seconds(), web.gap.Seconds())

	console := s.vm.Console()
	assert.Equal(t, osBefore, osAfter, "os's PID 1 is the same process: it was not restarted")
	assert.Equal(t, 1, strings.Count(console, "container os started (group root)"), "os started once")
	assert.Equal(t, 1, strings.Count(console, "container mgmt started (group platform)"), "mgmt started once")
	assert.Equal(t, 2, strings.Count(console, "container web started (group app)"), "web started twice")
	assert.Equal(t, 1, strings.Count(console, "GRUB loading"), "no reboot")
	assert.NotContains(t, console, "Restarting system")

	st := s.powerOff()
	p := st.progress(s.rev)
	assert.Equal(t, "UPDATED", p.Status, "%+v", p)
	assert.Equal(t, "Update finished, revision not set as rollback point", p.Msg)
	env := st.env("/" + PVEnv)
	assert.Equal(t, "0", env["pv_rev"], "a swap sets no rollback point")
	assert.Equal(t, s.rev, env["pv_try"], "the next reboot tries the swapped revision")
	assert.Equal(t, "0", st.checkConsistent())
}

// TestScenarioSystemUpdate (b): an update of the os container (group
// root, restart_policy system) reboots into a try-boot of the new
// revision (GRUB latches pv_trying), which reaches TESTING and, after the
// commit delay, DONE: pv_rev is the new revision, pv_try unset.
func TestScenarioSystemUpdate(t *testing.T) {
	s := startScenario(t, "sys", SystemChange("2"), "", false)
	from := rebootUpdate(t, s, "system container")
	s.seen(from, q(VersionLine("os", "2")), 60*time.Second, "the new os runs")
}

// TestScenarioBSPUpdate (b): an update of the BSP (a new initramfs: ours
// with four zero bytes appended, which the kernel's unpacker skips) also
// reboots into a try-boot that commits; GRUB loads the new revision's
// initramfs.
func TestScenarioBSPUpdate(t *testing.T) {
	o := qemuImageOptions(t)
	data, err := os.ReadFile(o.Initrd)
	require.NoError(t, err)
	initrd := filepath.Join(t.TempDir(), "pantavisor.cpio.xz")
	require.NoError(t, os.WriteFile(initrd, append(data, 0, 0, 0, 0), 0o644))
	s := startScenario(t, "bsp", BSPChange(initrd), "", false)
	rebootUpdate(t, s, "BSP")
	st := openStorage(t, s.disk, s.res.Partition)
	assert.Equal(t, len(data)+4, len(st.cat("/trails/"+s.rev+"/.pv/pv-initrd.img")), "the new revision boots the new initramfs")
}

// rebootUpdate runs s's update through a reboot, TESTING and DONE, powers
// off and checks the storage. It returns the console position at the
// new revision's start (for its containers' lines).
func rebootUpdate(t *testing.T, s *scenario, what string) int {
	t.Helper()
	run := s.installed()
	s.expect(statusRE(s.rev, "INPROGRESS"), 60*time.Second, "the updater installs the step")
	s.expect(`Restarting system`, 120*time.Second, "a "+what+" change reboots")
	s.expect(`pv: booting revision `+q(s.rev)+` pv_try=`+q(s.rev), 120*time.Second, "GRUB tries the new revision")
	s.expect(`bootloader grub: running revision `+q(s.rev)+` \(trying true, committed 0\)`, 120*time.Second, "PID 1 knows it tries")
	from := s.cursor
	s.expect(`revision `+q(s.rev)+` status READY`, 240*time.Second, "the new revision's goals")
	s.expect(statusRE(s.rev, "TESTING"), 60*time.Second, "TESTING")
	_, done := s.expect(statusRE(s.rev, "DONE"), 60*time.Second, "commit")
	t.Logf("(b) %s: LOCAL_RUN -> DONE %.1fs, with one reboot (commit delay 3 s, stable_timeout 5 s, TCG)", what, done.Sub(run).Seconds())
	// The commit collects every other revision, the factory one too
	// (PV_STORAGE_GC_KEEP_FACTORY is off); wait for it so the storage
	// checked below is the settled one, not a race with the collector.
	s.expect(`garbage collector: removed 1 revisions \[0\]`, 60*time.Second, "the commit collects revision 0")
	console := s.vm.Console()
	assert.Equal(t, 2, strings.Count(console, "GRUB loading"), "one reboot")

	st := s.powerOff()
	p := st.progress(s.rev)
	assert.Equal(t, "DONE", p.Status, "%+v", p)
	assert.Equal(t, "Update finished, revision set as rollback point", p.Msg)
	env := st.env("/" + PVEnv)
	require.Equal(t, s.rev, env["pv_rev"], "pv_rev advanced")
	assert.Empty(t, env["pv_try"])
	assert.Empty(t, st.env("/" + GrubEnv)["pv_trying"], "the commit cleared GRUB's latch")
	assert.Equal(t, s.rev, st.checkConsistent())
	assert.Equal(t, []string{s.rev}, st.revisions(), "only the committed revision is left")
	return from
}
