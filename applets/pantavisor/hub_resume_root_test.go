//go:build !nohub

package pantavisor

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/hub/hubtest"
	"pantavisor/lib/progress"
)

// bigSize is the size of the large object of the resume tests.
const bigSize = 50 << 20

// postBigStep posts step 1: the fixture revision with an extra file
// app/blob.bin of bigSize random bytes (an object the device only
// stores) and a new CTRLTEST value for app; with cut >= 0 the hub's first
// download of the blob is cut after cut bytes. It returns the blob's sha.
func postBigStep(t *testing.T, d *ctrlDevice, h *hubtest.Hub, id string, cut int64) string {
	t.Helper()
	blob := make([]byte, bigSize)
	_, err := rand.Read(blob)
	require.NoError(t, err)
	objects, inline := d.files(map[string]string{"app": conf("app", "from-hub-big", "")}, nil)
	objects["app/blob.bin"] = blob
	js, byHash := stateAndObjects(objects, inline)
	for _, b := range byHash {
		h.AddObject(b)
	}
	sha := h.AddObject(blob)
	if cut >= 0 {
		h.DropObject(sha, cut, false)
	}
	require.NoError(t, h.PostStep(id, 1, []byte(js), "big"))
	return sha
}

// partialSize is the size of storage/partial/<sha>, -1 when absent.
func (d *ctrlDevice) partialSize(sha string) int64 {
	fi, err := os.Stat(filepath.Join(d.dir, "storage", "partial", sha))
	if err != nil {
		return -1
	}
	return fi.Size()
}

// rangeGets are the Range headers of the object downloads so far.
func rangeGets(h *hubtest.Hub) []string {
	var out []string
	for _, r := range h.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/local-s3/") {
			out = append(out, r.Header.Get("Range"))
		}
	}
	return out
}

// assertBigUpdated checks the end of a resumed download: rev UPDATED on
// the hub and locally, the object stored whole with its hash, no partial
// left, at most 1.1 times the object served, and app running the new
// revision.
func assertBigUpdated(t *testing.T, d *ctrlDevice, h *hubtest.Hub, id string, sha string) {
	const rev = 1
	t.Helper()
	require.Eventually(t, func() bool { return progress.Final(h.StepStatus(id, rev)) }, 120*time.Second, 100*time.Millisecond,
		"rev %d ends; history %q", rev, history(h, id, rev))
	assert.Equal(t, progress.Updated, h.StepStatus(id, rev), "history %q", history(h, id, rev))
	assert.Equal(t, progress.Updated, d.progressOf(t, "1").Status)
	data, err := os.ReadFile(filepath.Join(d.dir, "storage", "objects", sha))
	require.NoError(t, err)
	assert.Equal(t, h.Object(sha), data, "the object stored is the hub's")
	assert.Equal(t, int64(-1), d.partialSize(sha), "no partial left")
	served := h.BytesServed(sha)
	assert.LessOrEqual(t, served, int64(bigSize)*11/10, "bytes served for a %d B object", bigSize)
	t.Logf("served %d B for a %d B object; ranges %q", served, bigSize, rangeGets(h))
	out, _, _ := d.inside(t, "app", "echo $CTRLTEST")
	assert.Equal(t, "from-hub-big\n", out)
}

// TestHubResumeDrops: the hub cuts the connection of the 50 MB object at
// 10 %, 50 % and 90 % of it; each retry continues the partial with a
// Range request from where the last one stopped, the hub serves the
// object once in all and the update completes UPDATED.
func TestHubResumeDrops(t *testing.T) {
	d, h, id := claimedHubDevice(t)
	cuts := []int64{bigSize / 10, bigSize / 2, bigSize * 9 / 10}
	// The first cut is armed before the step exists; each next one once
	// the partial holds the bytes of the cut before (the retry comes
	// ReqInterval later).
	sha := postBigStep(t, d, h, id, cuts[0])
	var prev int64
	for i, cut := range cuts {
		if i > 0 {
			h.DropObject(sha, cut-prev, false)
		}
		require.Eventually(t, func() bool { return d.partialSize(sha) == cut }, 60*time.Second, 20*time.Millisecond,
			"the partial holds the %d B before cut %d (has %d)", cut, i, d.partialSize(sha))
		require.Equal(t, cut, h.BytesServed(sha), "the hub cut at %d", cut)
		prev = cut
	}
	assertBigUpdated(t, d, h, id, sha)
	// The two whole GETs: app's new config and the blob's first try.
	assert.Equal(t, []string{"", "", "bytes=5242880-", "bytes=26214400-", "bytes=47185920-"}, rangeGets(h),
		"each retry asks for the rest")
	assert.Equal(t, int64(bigSize), h.BytesServed(sha), "every byte served once")
	assert.Equal(t, []string{
		"QUEUED Retried 1 of 10",
		"QUEUED Downloading update metadata, retry 1 of 10",
		"DOWNLOADING Downloading update artifacts, retry 1 of 10",
		"DOWNLOADING Downloading update artifacts, retry 2 of 10",
		"DOWNLOADING Downloading update artifacts, retry 3 of 10",
		"DOWNLOADING Downloading update artifacts, retry 4 of 10",
		"INPROGRESS " + progress.MsgTransitioning,
		"TESTING " + progress.MsgAwaitStable,
		"UPDATED " + progress.MsgUpdated,
	}, compact(history(h, id, 1)))
}

// TestHubResumeKilled: the appengine is killed with SIGKILL while the
// 50 MB object downloads over a slow link; restarted, it takes the step
// up again and continues the partial with a Range request from the bytes
// it holds, the hub serves at most 1.1 times the object and the update
// completes UPDATED.
func TestHubResumeKilled(t *testing.T) {
	d, h, id := claimedHubDevice(t)
	h.Throttle(8 << 20)
	sha := postBigStep(t, d, h, id, -1)
	require.Eventually(t, func() bool { return d.partialSize(sha) >= bigSize*3/10 }, 60*time.Second, 20*time.Millisecond,
		"the partial grows (has %d)", d.partialSize(sha))
	require.NoError(t, d.cmd.Process.Signal(unix.SIGKILL))
	_ = d.cmd.Wait()
	held := d.partialSize(sha)
	require.Less(t, held, int64(bigSize), "killed mid-download")
	h.Throttle(0)

	d.start(t)
	d.waitStarted(t)
	d.signalReady(t)
	assertBigUpdated(t, d, h, id, sha)
	// app's new config and the blob before the kill; the blob's rest.
	gets := rangeGets(h)
	require.Len(t, gets, 3, "two downloads before the kill, one after")
	assert.Equal(t, []string{"", ""}, gets[:2])
	assert.Equal(t, fmt.Sprintf("bytes=%d-", held), gets[2], "resumed from the bytes the partial held")
}

// untouched checks that the device still runs revision 0 with the same
// container inits, answers pv-ctrl, and that the sentinel directory
// beside the storage holds only its own file.
func untouched(t *testing.T, d *ctrlDevice, pids map[string]string, sentinel string) {
	t.Helper()
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	assert.Equal(t, "0", cur, "trails/current")
	for c, pid := range pids {
		assert.Equal(t, pid, d.pidOf(t, c), "%s ran on untouched", c)
	}
	out, _, code := d.pvctl(t, "ls")
	assert.Equal(t, 0, code, "pv-ctrl answers")
	assert.Contains(t, out, `"name":"app"`)
	ents, err := os.ReadDir(sentinel)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"keep"}, names, "nothing written beside the storage")
	var evil []string
	_ = filepath.WalkDir(d.dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), "evil") {
			evil = append(evil, p)
		}
		return nil
	})
	assert.Empty(t, evil, "no file named by a ../ object")
}

// waitLog waits for the appengine's log to contain s.
func waitLog(t *testing.T, d *ctrlDevice, s string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(d.stderr.String(), s) }, within, 50*time.Millisecond,
		"the log says %q", s)
}

// wontGo waits for hub step rev to end and checks it is WONTGO msg on the
// hub (a state refused before it is stored has no local progress).
func wontGo(t *testing.T, h *hubtest.Hub, id string, rev int, msg string) {
	t.Helper()
	require.Eventually(t, func() bool { return progress.Final(h.StepStatus(id, rev)) }, 60*time.Second, 100*time.Millisecond,
		"rev %d ends; history %q", rev, history(h, id, rev))
	hist := history(h, id, rev)
	assert.Equal(t, "WONTGO "+msg, hist[len(hist)-1], "history %q", hist)
}

// TestHubBadInput: what a hub sends wrong ends as a log line or a WONTGO
// with its reason, writes nothing outside the storage and leaves the
// running revision alone: malformed JSON in the steps answer, a step
// whose state does not parse, objects named with ../, objects far larger
// than the disk, a hub that never answers.
func TestHubBadInput(t *testing.T) {
	d, h, id := claimedHubDevice(t)
	sentinel := filepath.Join(d.dir, "sentinel")
	require.NoError(t, os.MkdirAll(sentinel, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sentinel, "keep"), []byte("x"), 0o644))
	pids := map[string]string{"mgmt": d.pidOf(t, "mgmt"), "app": d.pidOf(t, "app")}
	stepsPath := "/trails/" + id + "/steps"

	t.Run("malformed steps JSON", func(t *testing.T) {
		h.Answer("GET", stepsPath, 200, []byte(`[{"rev":1,"state":{`))
		waitLog(t, d, "hub: pending steps: ", 30*time.Second)
		h.Answer("GET", stepsPath, 0, nil)
		untouched(t, d, pids, sentinel)
	})
	t.Run("state does not parse", func(t *testing.T) {
		require.NoError(t, h.PostStep(id, 1, []byte(`{"#spec":"no-such-spec@9"}`), "bad spec"))
		wontGo(t, h, id, 1, progress.MsgBadState)
		waitLog(t, d, "hub: step 1: WONTGO", 10*time.Second)
		untouched(t, d, pids, sentinel)
	})
	t.Run("object names with ../", func(t *testing.T) {
		evil := h.AddObject([]byte("evil bytes"))
		for i, key := range []string{"../../../sentinel/evil", "app/../../../../sentinel/evil2", "../evil3"} {
			objects, inline := d.files(nil, nil)
			js, byHash := stateAndObjects(objects, inline)
			for _, b := range byHash {
				h.AddObject(b)
			}
			js = strings.TrimSuffix(js, "}") + `,"` + key + `":"` + evil + `"}`
			rev := 2 + i
			require.NoError(t, h.PostStep(id, rev, []byte(js), "escape"))
			wontGo(t, h, id, rev, progress.MsgBadState)
			waitLog(t, d, "hub: step "+strconv.Itoa(rev)+": storing state of "+strconv.Itoa(rev)+": state JSON has bad format: "+key+": '..' in path", 10*time.Second)
			untouched(t, d, pids, sentinel)
		}
		assert.NotContains(t, d.stderr.String(), "storing progress", "no progress stored for a state never stored")
	})
	t.Run("objects larger than the disk", func(t *testing.T) {
		big := h.AddObject([]byte("claims to be huge"))
		h.Answer("GET", "/objects/"+big, 200, []byte(`{"id":"`+big+`","sha256sum":"`+big+
			`","size":"1125899906842624","sizeint":1125899906842624,"signed-geturl":"https://`+h.Addr()+`/local-s3/none"}`))
		objects, inline := d.files(nil, nil)
		objects["app/huge.bin"] = []byte("claims to be huge")
		js, byHash := stateAndObjects(objects, inline)
		for _, b := range byHash {
			h.AddObject(b)
		}
		require.NoError(t, h.PostStep(id, 5, []byte(js), "huge"))
		require.Eventually(t, func() bool { return progress.Final(h.StepStatus(id, 5)) }, 60*time.Second, 100*time.Millisecond,
			"rev 5 ends; history %q", history(h, id, 5))
		hist := history(h, id, 5)
		assert.Regexp(t, `^WONTGO Space required 1125899906842624 B, available [0-9]+ B$`, hist[len(hist)-1])
		assert.Equal(t, progress.WontGo, d.progressOf(t, "5").Status)
		for _, r := range h.Requests() {
			assert.NotEqual(t, "/local-s3/none", r.Path, "nothing downloaded")
		}
		untouched(t, d, pids, sentinel)
	})
	t.Run("hub hangs", func(t *testing.T) {
		n := len(d.stderr.String())
		h.Hang()
		defer h.Release()
		require.Eventually(t, func() bool { return h.Refused() > 0 }, 30*time.Second, 50*time.Millisecond,
			"the device connects to the hung hub")
		// PH_LIBEVENT_HTTP_TIMEOUT=10: a request ends after 10 s.
		require.Eventually(t, func() bool { return strings.Contains(d.stderr.String()[n:], "hub: ") }, 40*time.Second,
			100*time.Millisecond, "a hung request is logged")
		require.Eventually(t, func() bool {
			out, _, _ := d.pvctl(t, "devmeta", "ls")
			return strings.Contains(out, `"pantahub.online":"0"`)
		}, 30*time.Second, 200*time.Millisecond, "pv-ctl shows the hub offline")
		for i := 0; i < 3; i++ {
			untouched(t, d, pids, sentinel)
			time.Sleep(time.Second)
		}
		t.Logf("log while hung: %s", d.stderr.String()[n:])
	})
}

// devmetaHas reports whether pv-ctl devmeta ls shows every pair of kv.
func devmetaHas(t *testing.T, d *ctrlDevice, kv ...string) bool {
	out, _, code := d.pvctl(t, "devmeta", "ls")
	if code != 0 {
		return false
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if !strings.Contains(out, `"`+kv[i]+`":"`+kv[i+1]+`"`) {
			return false
		}
	}
	return true
}

// TestHubUnclaim: pv-ctl shows the hub client's state in device-meta;
// pv-ctl cmd unclaim makes the claimed device drop its identity (the
// credentials file emptied of it), register again as a new device and
// wait for a claim (pantahub.claimed 0, pantahub.state claim, a new
// challenge hint) without touching the running revision; a second
// unclaim is 204 "Device is already unclaimed"; claimed again, the device
// syncs its running revision to the new record.
func TestHubUnclaim(t *testing.T) {
	d, h, id := claimedHubDevice(t)
	pids := map[string]string{"mgmt": d.pidOf(t, "mgmt"), "app": d.pidOf(t, "app")}
	require.Eventually(t, func() bool {
		return devmetaHas(t, d, "pantahub.claimed", "1", "pantahub.state", "idle", "pantahub.online", "1",
			"pantahub.address", fmt.Sprintf("%s:%d", h.Host(), h.Port()))
	}, 30*time.Second, 100*time.Millisecond, "pv-ctl devmeta ls shows the hub state")
	creds := filepath.Join(d.dir, "storage", "config", "pantahub.config")
	b, err := os.ReadFile(creds)
	require.NoError(t, err)
	require.Contains(t, string(b), id)

	out, stderr, code := d.pvctl(t, "cmd", "unclaim")
	require.Equal(t, 0, code, "%s%s", out, stderr)
	var fresh string
	require.Eventually(t, func() bool {
		if devs := h.Devices(); len(devs) == 2 {
			for _, dv := range devs {
				if dv.ID != id {
					fresh = dv.ID
				}
			}
		}
		return fresh != ""
	}, 30*time.Second, 50*time.Millisecond, "the device registers again")
	require.Eventually(t, func() bool {
		return devmetaHas(t, d, "pantahub.claimed", "0", "pantahub.state", "claim")
	}, 30*time.Second, 100*time.Millisecond, "pv-ctl shows the device unclaimed, waiting for its claim")
	b, err = os.ReadFile(creds)
	require.NoError(t, err)
	assert.Contains(t, string(b), fresh, "the new identity saved")
	assert.NotContains(t, string(b), id, "the old identity dropped")
	hint, _ := os.ReadFile(filepath.Join(d.dir, "run", "device-id"))
	assert.Equal(t, fresh, string(hint))
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(d.dir, "run", "challenge"))
		return len(b) > 0
	}, 30*time.Second, 50*time.Millisecond, "a challenge for the new record")
	assert.Contains(t, d.stderr.String(), "hub: device "+id+" unclaimed: registering again")

	_, _, code = d.pvctl(t, "cmd", "unclaim")
	assert.Equal(t, 255, code, "204 Device is already unclaimed")
	cur, _ := os.Readlink(filepath.Join(d.dir, "storage", "trails", "current"))
	assert.Equal(t, "0", cur)
	for c, pid := range pids {
		assert.Equal(t, pid, d.pidOf(t, c), "%s ran on untouched", c)
	}

	require.NoError(t, h.Claim(fresh))
	require.Eventually(t, func() bool { return h.StepStatus(fresh, 0) != "" }, 30*time.Second, 50*time.Millisecond,
		"the running revision synced to the new record")
	require.Eventually(t, func() bool { return devmetaHas(t, d, "pantahub.claimed", "1") }, 30*time.Second,
		100*time.Millisecond, "claimed again")
}
