//go:build !nohub

package pantavisor

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/hubtest"
	"pantavisor/lib/progress"
)

// hubDevice starts the fixture appengine in remote mode against a fake
// hub (its CA in a PV_LIBTHTTP_CERTSDIR directory, verification on),
// with short timers (device-meta every devmeta seconds), signals mgmt ready and returns the device id once
// the hub has registered it.
func hubDevice(t *testing.T, devmeta string, env ...string) (*ctrlDevice, *hubtest.Hub, string) {
	t.Helper()
	d := newCtrlDevice(t)
	certs := filepath.Join(t.TempDir(), "certs")
	require.NoError(t, os.MkdirAll(certs, 0o755))
	h := hubtest.Start(t, hubtest.Options{CertDir: certs})
	d.env = []string{"PH_CREDS_HOST=" + h.Host(), "PH_CREDS_PORT=" + strconv.Itoa(h.Port()),
		"PV_LIBTHTTP_CERTSDIR=" + certs, "PH_UPDATER_INTERVAL=1", "PH_METADATA_DEVMETA_INTERVAL=" + devmeta,
		"PH_METADATA_USRMETA_INTERVAL=1", "PH_LIBEVENT_HTTP_TIMEOUT=10", "PV_UPDATER_COMMIT_DELAY=1"}
	d.env = append(d.env, env...)
	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	var id string
	require.Eventually(t, func() bool {
		if devs := h.Devices(); len(devs) == 1 {
			id = devs[0].ID
		}
		return id != ""
	}, 30*time.Second, 50*time.Millisecond, "the device registers")
	return d, h, id
}

// claimedHubDevice is hubDevice, claimed, once the hub has its factory
// trail (rev 0).
func claimedHubDevice(t *testing.T, env ...string) (*ctrlDevice, *hubtest.Hub, string) {
	t.Helper()
	d, h, id := hubDevice(t, "1", env...)
	require.NoError(t, h.Claim(id))
	require.Eventually(t, func() bool { return h.StepStatus(id, 0) != "" }, 30*time.Second, 50*time.Millisecond,
		"factory sync: the hub has trail rev 0")
	return d, h, id
}

// history is the hub's progress history of step rev as "STATUS msg".
func history(h *hubtest.Hub, id string, rev int) []string {
	var out []string
	for _, p := range h.Progress(id, rev) {
		out = append(out, p.Status+" "+p.StatusMsg)
	}
	return out
}

// TestHubRemoteUpdate: the appengine registers with the fake hub, is
// claimed, uploads its factory revision, takes rev 1 (an app-only change)
// from the hub and swaps it in without a reboot; the hub's progress
// history of rev 1 is exactly what the agent and the updater recorded,
// and device-meta on the hub carries the client's state.
func TestHubRemoteUpdate(t *testing.T) {
	d, h, id := hubDevice(t, "600") // device-meta is sent once synced, then at UPDATE_METADATA
	mgmt := d.pidOf(t, "mgmt")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(d.dir, "run", "challenge"))
		return len(b) > 0
	}, 30*time.Second, 50*time.Millisecond, "the challenge hint is written while unclaimed")
	require.NoError(t, h.Claim(id))
	require.Eventually(t, func() bool { return h.StepStatus(id, 0) != "" }, 30*time.Second, 50*time.Millisecond,
		"factory sync: the hub has trail rev 0")

	objects, inline := d.files(map[string]string{"app": conf("app", "from-hub-v1", "")}, nil)
	js, byHash := stateAndObjects(objects, inline)
	for _, b := range byHash {
		h.AddObject(b)
	}
	require.NoError(t, h.PostStep(id, 1, []byte(js), "app v1"))
	require.Eventually(t, func() bool { return progress.Final(h.StepStatus(id, 1)) }, 60*time.Second, 100*time.Millisecond,
		"rev 1 ends; history %q", history(h, id, 1))
	assert.Equal(t, []string{
		"QUEUED Retried 1 of 10",
		"QUEUED Downloading update metadata, retry 1 of 10",
		"DOWNLOADING Downloading update artifacts, retry 1 of 10",
		"INPROGRESS " + progress.MsgTransitioning,
		"TESTING " + progress.MsgAwaitStable,
		"UPDATED " + progress.MsgUpdated,
	}, history(h, id, 1))
	assert.Equal(t, progress.Updated, d.progressOf(t, "1").Status)
	assert.Equal(t, mgmt, d.pidOf(t, "mgmt"), "mgmt ran on untouched")
	out, _, _ := d.inside(t, "app", "echo $CTRLTEST")
	assert.Equal(t, "from-hub-v1\n", out)

	// pv-ctrl: GO_REMOTE is 204 "Already in remote mode" (pv-ctl's exit
	// for a reply other than 200); UPDATE_METADATA sets its pairs in
	// device-meta and has the client upload device-meta now.
	_, _, code := d.pvctl(t, "cmd", "go-remote")
	assert.Equal(t, 255, code)
	cmd := exec.Command("curl", "-s", "-w", "%{http_code}", "--unix-socket", d.sock, "-X", "POST",
		"-d", `{"op":"UPDATE_METADATA","payload":"{\"custom.key\":\"pushed\"}"}`, "http://localhost/commands")
	reply, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "200", string(reply[len(reply)-3:]), "%s", reply)
	require.Eventually(t, func() bool { return h.DeviceMeta(id)["custom.key"] == "pushed" }, 10*time.Second, 50*time.Millisecond,
		"UPDATE_METADATA pushes device-meta at once (interval 600 s): %v", h.DeviceMeta(id))
	m := h.DeviceMeta(id)
	assert.Equal(t, "1", m["pantahub.claimed"])
	assert.Equal(t, "1", m["pantahub.online"])
	assert.Equal(t, "idle", m["pantahub.state"])
	assert.Equal(t, "1", m["pantavisor.revision"])
	assert.Equal(t, "remote", m["pantavisor.mode"])
	assert.Equal(t, fmt.Sprintf("%s:%d", h.Host(), h.Port()), m["pantahub.address"])
	b, err := os.ReadFile(filepath.Join(d.dir, "run", "device-meta", "pantahub.claimed"))
	require.NoError(t, err)
	assert.Equal(t, "1", string(b), "the device's own device-meta")

	// The log pusher ships the log tree once claimed: pantavisor's own
	// lines of the factory revision and of rev 1 reach the hub.
	var revs map[string]bool
	require.Eventually(t, func() bool {
		revs = map[string]bool{}
		for _, e := range h.Logs(id) {
			if e.Plat == "pantavisor" && e.Src == "/pantavisor.log" {
				revs[e.Rev] = true
			}
		}
		return revs["0"] && revs["1"]
	}, 30*time.Second, 100*time.Millisecond, "pantavisor.log of revisions 0 and 1 on the hub: %v", revs)
}

// compact drops a line equal to the one before (DOWNLOADING heartbeats).
func compact(lines []string) []string {
	var out []string
	for _, l := range lines {
		if len(out) == 0 || out[len(out)-1] != l {
			out = append(out, l)
		}
	}
	return out
}

// TestHubCorruptObject: the hub serves rev 1's new object corrupt; every
// download fails its hash, and after PV_REVISION_RETRIES the step is
// ERROR "Object validation went wrong" on the hub and locally, the object
// never stored and the running revision untouched.
func TestHubCorruptObject(t *testing.T) {
	d, h, id := hubDevice(t, "1", "PV_REVISION_RETRIES=2")
	app := d.pidOf(t, "app")
	require.NoError(t, h.Claim(id))
	require.Eventually(t, func() bool { return h.StepStatus(id, 0) != "" }, 30*time.Second, 50*time.Millisecond,
		"factory sync: the hub has trail rev 0")
	newConf := conf("app", "from-hub-corrupt", "")
	objects, inline := d.files(map[string]string{"app": newConf}, nil)
	js, byHash := stateAndObjects(objects, inline)
	for _, b := range byHash {
		h.AddObject(b)
	}
	bad := h.AddObject([]byte(newConf))
	h.CorruptObject(bad, true)
	require.NoError(t, h.PostStep(id, 1, []byte(js), "corrupt"))
	require.Eventually(t, func() bool { return progress.Final(h.StepStatus(id, 1)) }, 60*time.Second, 100*time.Millisecond,
		"rev 1 ends; history %q", history(h, id, 1))
	assert.Equal(t, []string{
		"QUEUED Retried 1 of 2",
		"QUEUED Downloading update metadata, retry 1 of 2",
		"DOWNLOADING Downloading update artifacts, retry 1 of 2",
		"DOWNLOADING Downloading update artifacts, retry 2 of 2",
		"ERROR Object validation went wrong",
	}, compact(history(h, id, 1)))
	assert.Equal(t, progress.Error, d.progressOf(t, "1").Status)
	_, err := os.Stat(filepath.Join(d.dir, "storage", "objects", bad))
	assert.True(t, os.IsNotExist(err), "the corrupt object is not stored")
	img := sha256.Sum256(d.img)
	_, err = os.Stat(filepath.Join(d.dir, "storage", "objects", hex.EncodeToString(img[:])))
	assert.NoError(t, err, "where the factory's objects are")
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	assert.Equal(t, "0", cur)
	assert.Equal(t, app, d.pidOf(t, "app"), "app ran on untouched")
	assert.Contains(t, d.stderr.String(), "object validation went wrong")
}
