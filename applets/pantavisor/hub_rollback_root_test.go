//go:build !nohub

package pantavisor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/hubtest"
	"pantavisor/lib/progress"
)

// postStep posts the fixture revision with confs and extras (see files)
// as hub step rev, its objects on the hub.
func postStep(t *testing.T, d *ctrlDevice, h *hubtest.Hub, id string, rev int, confs, extras map[string]string) {
	t.Helper()
	objects, inline := d.files(confs, extras)
	js, byHash := stateAndObjects(objects, inline)
	for _, b := range byHash {
		h.AddObject(b)
	}
	require.NoError(t, h.PostStep(id, rev, []byte(js), "rev"))
}

// waitHubStatus waits until the hub shows status for step rev.
func waitHubStatus(t *testing.T, h *hubtest.Hub, id string, rev int, status string) {
	t.Helper()
	require.Eventually(t, func() bool { return h.StepStatus(id, rev) == status }, 60*time.Second, 100*time.Millisecond,
		"step %d reaches %s on the hub; history %q", rev, status, history(h, id, rev))
}

// currentRev is the revision trails/current names.
func (d *ctrlDevice) currentRev() string {
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	return cur
}

// stable1s makes a container stable 1 s after its goal (the default
// of a mgmt container is 30 s), so a tried revision commits quickly.
var stable1s = map[string]string{"mgmt": `,"auto_recovery":{"stable_timeout":1}`, "app": `,"auto_recovery":{"stable_timeout":1}`}

// hubDownloaded is the start of a hub step's history, up to its objects
// downloaded (heartbeats collapsed).
var hubDownloaded = []string{
	"QUEUED Retried 1 of 10",
	"QUEUED Downloading update metadata, retry 1 of 10",
	"DOWNLOADING Downloading update artifacts, retry 1 of 10",
}

// afterDownload is hubDownloaded followed by lines, in a new slice.
func afterDownload(lines ...string) []string {
	return append(append([]string{}, hubDownloaded...), lines...)
}

// TestHubRebootUpdate: hub rev 1 changes mgmt (restart_policy system):
// the appengine exits for the reboot, its restart tries rev 1, reaches
// the hub (report state), and TESTING then DONE reach the hub.
func TestHubRebootUpdate(t *testing.T) {
	d, h, id := claimedHubDevice(t)
	postStep(t, d, h, id, 1, map[string]string{"mgmt": conf("mgmt", "from-hub-v1", "")}, stable1s)
	assert.Equal(t, ExitReboot, d.waitExit(t))
	p := d.progressOf(t, "1")
	assert.Equal(t, progress.InProgress+" "+progress.MsgRebooting, p.Status+" "+p.Msg)

	d.start(t)
	d.waitStarted(t)
	out, _, _ := d.inside(t, "mgmt", "echo $CTRLTEST")
	assert.Equal(t, "from-hub-v1\n", out, "the try runs rev 1")
	d.signalReady(t)
	waitHubStatus(t, h, id, 1, progress.Done)
	withTry := afterDownload(
		"INPROGRESS "+progress.MsgRebooting,
		"INPROGRESS "+progress.MsgTrying,
		"TESTING "+progress.MsgAwaitCommit,
		"DONE "+progress.MsgDone,
	)
	// "Trying new revision" is recorded before the restarted client has a
	// session: it reaches the hub only if the session comes before TESTING
	// replaces it in the one-report queue (upstream usually drops it).
	noTry := afterDownload(
		"INPROGRESS "+progress.MsgRebooting,
		"TESTING "+progress.MsgAwaitCommit,
		"DONE "+progress.MsgDone,
	)
	assert.Contains(t, [][]string{withTry, noTry}, compact(history(h, id, 1)))
	assert.Equal(t, progress.Done, d.progressOf(t, "1").Status)
	assert.Equal(t, "1", d.currentRev())
	env, err := os.ReadFile(filepath.Join(d.dir, "storage", "boot", "direct.env"))
	require.NoError(t, err)
	assert.Contains(t, string(env), "pv_rev=1\n")
	assert.NotContains(t, string(env), "pv_try=")
}

// TestHubBrokenRev: hub rev 1's app exits 3 s after it starts, with no
// recovery: TESTING, then ERROR "A container could not be started" and
// the rollback (the appengine exits 4); the restart runs rev 0 again and
// the hub shows the ERROR (sent before the exit or sent again after it).
func TestHubBrokenRev(t *testing.T) {
	d, h, id := claimedHubDevice(t, "PV_UPDATER_COMMIT_DELAY=30")
	postStep(t, d, h, id, 1, map[string]string{"app": conf("app", "from-hub-bad", `/bin/sh -c "sleep 3; exit 1"`)},
		map[string]string{"app": `,"auto_recovery":{"policy":"no"}`})
	assert.Equal(t, ExitRollback, d.waitExit(t))
	p := d.progressOf(t, "1")
	assert.Equal(t, progress.Error+" "+progress.MsgContainerStart, p.Status+" "+p.Msg)

	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	waitHubStatus(t, h, id, 1, progress.Error)
	assert.Equal(t, afterDownload(
		"INPROGRESS "+progress.MsgTransitioning,
		"TESTING "+progress.MsgAwaitStable,
		"ERROR "+progress.MsgContainerStart,
	), compact(history(h, id, 1)))
	assert.Equal(t, "0", d.currentRev(), "rev 0 runs again")
	out, _, _ := d.inside(t, "app", "echo $CTRLTEST")
	assert.Equal(t, "from-app\n", out)
}

// TestHubNotStable: the hub drops every request while step 1 is TESTING
// on it: the next request of the client gets no answer, and the update
// fails with ERROR "Hub communication not stable" and rolls back. The
// hub, reachable again, gets the ERROR from the restarted device (the
// final status sent again while the hub still shows TESTING).
func TestHubNotStable(t *testing.T) {
	d, h, id := claimedHubDevice(t, "PV_UPDATER_COMMIT_DELAY=30")
	h.DropWhileStatus(progress.Testing, -1)
	postStep(t, d, h, id, 1, map[string]string{"app": conf("app", "from-hub-v1", "")}, nil)
	assert.Equal(t, ExitRollback, d.waitExit(t))
	p := d.progressOf(t, "1")
	assert.Equal(t, progress.Error+" "+progress.MsgHubUnstable, p.Status+" "+p.Msg)
	assert.Equal(t, progress.Testing, h.StepStatus(id, 1), "the hub did not get the ERROR while dropping")
	assert.Contains(t, d.stderr.String(), "Hub communication not stable: a hub request got no answer while TESTING")

	h.DropWhileStatus("", 0)
	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	waitHubStatus(t, h, id, 1, progress.Error)
	assert.Equal(t, afterDownload(
		"INPROGRESS "+progress.MsgTransitioning,
		"TESTING "+progress.MsgAwaitStable,
		"ERROR "+progress.MsgHubUnstable,
	), compact(history(h, id, 1)))
	assert.Equal(t, "0", d.currentRev(), "rev 0 runs again")
}

// TestHubNotReachable: hub rev 1 needs a reboot, and the hub refuses
// every connection from then on: the try stays INPROGRESS until
// PH_UPDATER_NETWORK_TIMEOUT (3 s here) and fails with ERROR "Hub not
// reachable" (exit 4). The hub, back, gets the ERROR from the rolled
// back device.
func TestHubNotReachable(t *testing.T) {
	d, h, id := claimedHubDevice(t, "PH_UPDATER_NETWORK_TIMEOUT=3")
	postStep(t, d, h, id, 1, map[string]string{"mgmt": conf("mgmt", "from-hub-v1", "")}, nil)
	assert.Equal(t, ExitReboot, d.waitExit(t))
	h.Refuse(true)

	d.start(t)
	assert.Equal(t, ExitRollback, d.waitExit(t))
	p := d.progressOf(t, "1")
	assert.Equal(t, progress.Error+" "+progress.MsgHubUnreachable, p.Status+" "+p.Msg)
	assert.NotZero(t, h.Refused(), "the client tried")

	h.Refuse(false)
	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	waitHubStatus(t, h, id, 1, progress.Error)
	assert.Equal(t, afterDownload(
		"INPROGRESS "+progress.MsgRebooting,
		"ERROR "+progress.MsgHubUnreachable,
	), compact(history(h, id, 1)))
	assert.Equal(t, "0", d.currentRev(), "rev 0 runs again")
}
