package hub

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/proto"
	"pantavisor/lib/progress"
)

// TestFlow: register → claim → factory sync → idle → rev 1 downloaded and
// handed over → the device's reports reach the hub → metadata.
func TestFlow(t *testing.T) {
	r := newRig(t, nil, "", false)
	a := r.agent
	assert.Equal(t, StateInit, a.State().State)

	// Registered, unclaimed: claim state, challenge published.
	r.until("challenge", func() bool { return a.State().Challenge != "" })
	s := a.State()
	assert.Equal(t, StateClaim, s.State)
	assert.False(t, s.Claimed)
	devs := r.hub.Devices()
	require.Len(t, devs, 1)
	id := devs[0].ID
	assert.Equal(t, id, s.DeviceID)
	assert.Equal(t, devs[0].Challenge, s.Challenge)
	assertFile(t, filepath.Join(r.opts.PVDir, HintChallenge), s.Challenge)
	assertFile(t, filepath.Join(r.opts.PVDir, HintDeviceID), id)
	assertFile(t, filepath.Join(r.opts.PVDir, HintHost), "https://"+r.hub.Addr())
	creds, err := proto.ReadCredsFile(r.opts.CredsFile)
	require.NoError(t, err)
	assert.Equal(t, proto.Creds{ID: id, PRN: devs[0].PRN, Secret: devs[0].Secret}, creds)
	assert.Equal(t, 0, r.count("POST", "/trails/"), "nothing synced before the claim")

	// Claimed: a fresh login, then the factory sync, then idle.
	logins := r.count("POST", "/auth/login")
	require.NoError(t, r.hub.Claim(id))
	r.until("idle", func() bool { return a.State().State == StateIdle })
	assert.Greater(t, r.count("POST", "/auth/login"), logins, "logged in again after the claim")
	assert.True(t, a.State().Claimed)
	assert.True(t, a.State().Online)
	assertFile(t, filepath.Join(r.opts.PVDir, HintChallenge), "")
	assert.Equal(t, "DONE", r.hub.StepStatus(id, 0))
	assert.Equal(t, []byte("factory kernel"), r.hub.Object(r.kernel))
	assert.Equal(t, 2, r.count("POST", "/objects/"))

	// The user posts rev 1: a new kernel.
	kern := []byte(strings.Repeat("new kernel ", 50000))
	ksha := r.hub.AddObject(kern)
	state := strings.Replace(string(r.dev.run.State), r.kernel, ksha, 1)
	require.NoError(t, r.hub.PostStep(id, 1, []byte(state), "new kernel"))
	r.until("hand-over", func() bool { return len(r.dev.started()) == 1 })
	assert.Equal(t, []int{1}, r.dev.started())
	assert.True(t, r.opts.Storage.HasObject(ksha))
	assert.Equal(t, StateReport, a.State().State)
	assert.Equal(t, 1, a.State().Rev)
	stored, err := r.opts.Storage.StateJSON("1")
	require.NoError(t, err)
	assert.JSONEq(t, state, string(stored))
	h := r.history(id, 1)
	require.GreaterOrEqual(t, len(h), 3)
	assert.Equal(t, []string{
		"QUEUED Retried 1 of 10",
		"QUEUED Downloading update metadata, retry 1 of 10",
	}, h[:2])
	for _, l := range h[2:] { // the first, then heartbeats while bytes move
		assert.Equal(t, "DOWNLOADING Downloading update artifacts, retry 1 of 10", l)
	}
	dl := r.hub.Progress(id, 1)[2]
	assert.Contains(t, string(dl.Body), `"downloads":{"total":{"object_name":"total","object_id":"none","total_size":550000,`)
	assert.Equal(t, 1, r.count("GET", "/objects/"+ksha), "metadata only for the missing object")

	// The device's updater reports; the hub sees each status.
	a.Report(1, progress.Make(progress.InProgress, progress.MsgTransitioning))
	r.step(0)
	a.Report(1, progress.Make(progress.Testing, progress.MsgAwaitStable))
	r.step(0)
	a.Report(1, progress.Make(progress.Updated, progress.MsgUpdated))
	r.step(0)
	h = r.history(id, 1)
	assert.Equal(t, []string{
		"INPROGRESS Transitioning to new revision without rebooting",
		"TESTING Awaiting to see if update is stable",
		"UPDATED Update finished, revision not set as rollback point",
	}, h[len(h)-3:])
	assert.Equal(t, -1, a.State().Rev)
	r.step(ReqInterval)
	assert.Equal(t, StateIdle, a.State().State)

	// Device-meta: sent with the agent's keys, again only when changed.
	r.step(DefaultDevMetaInterval)
	dm := r.hub.DeviceMeta(id)
	assert.Equal(t, "idle", dm["pantahub.state"])
	assert.Equal(t, "1", dm["pantahub.online"])
	assert.Equal(t, "1", dm["pantahub.claimed"])
	assert.Equal(t, "x86_64", dm["pantavisor.arch"])
	puts := r.count("PUT", "/devices/"+id+"/device-meta")
	for range 4 {
		r.step(DefaultDevMetaInterval)
	}
	assert.Equal(t, puts, r.count("PUT", "/devices/"+id+"/device-meta"))
	r.dev.mu.Lock()
	r.dev.devMeta["pantavisor.revision"] = "1"
	r.dev.mu.Unlock()
	r.step(DefaultDevMetaInterval)
	assert.Equal(t, puts+1, r.count("PUT", "/devices/"+id+"/device-meta"))

	// User-meta: full state, a key removed on the hub is removed here.
	require.NoError(t, r.hub.SetUserMeta(id, map[string]any{"app.key": "v", "PH_UPDATER_INTERVAL": "7"}))
	r.until("user-meta", func() bool { v, _ := r.dev.user("app.key"); return v == "v" })
	require.NoError(t, r.hub.SetUserMeta(id, map[string]any{"PH_UPDATER_INTERVAL": "7"}))
	r.until("user-meta removal", func() bool { _, ok := r.dev.user("app.key"); return !ok })

	// No token, secret or password in any log line.
	require.NotEmpty(t, r.tokens)
	for _, line := range r.log.all() {
		assert.NotContains(t, line, devs[0].Secret)
		for tok := range r.tokens {
			assert.NotContains(t, line, tok)
		}
	}
}

// compact drops lines equal to the one before.
func compact(lines []string) []string {
	var out []string
	for i, l := range lines {
		if i == 0 || l != lines[i-1] {
			out = append(out, l)
		}
	}
	return out
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(b))
}

// TestAutoTokenCredsSurviveRestart: the auto-token registers a claimed
// device; a new agent over the same files does not register again.
func TestAutoTokenCredsSurviveRestart(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	reqs := r.hub.Requests()
	assert.Equal(t, autoTok, reqs[0].Header.Get(AutoTokenHeader))
	r.restart()
	assert.Equal(t, "", r.agent.State().DeviceID)
	assert.Equal(t, id, r.idle())
	assert.Equal(t, 1, r.count("POST", "/devices/"))
	assert.Len(t, r.hub.Devices(), 1)
}

// TestRelogin401: a 401 drops the token; the next step logs in again.
func TestRelogin401(t *testing.T) {
	r := newRig(t, nil, "", true)
	r.idle()
	logins := r.count("POST", "/auth/login")
	r.hub.Fail401(1)
	r.step(DefaultUpdaterInterval)
	assert.Equal(t, "", r.agent.token)
	r.step(ReqInterval)
	assert.Equal(t, StateLogin, r.agent.name)
	assert.NotEqual(t, "", r.agent.token)
	assert.Equal(t, logins+1, r.count("POST", "/auth/login"))
	r.idle()
	assert.True(t, r.log.has("not authorized, logging in again"))
}

// TestCorruptObject: every download of the object fails its hash; after
// Retries retries the step is ERROR "Object validation went wrong",
// stored locally, nothing installed.
func TestCorruptObject(t *testing.T) {
	r := newRig(t, nil, "", true)
	r.opts.Retries = 2
	r.restart()
	id := r.idle()
	bad := r.hub.AddObject([]byte("a kernel the hub serves corrupt"))
	r.hub.CorruptObject(bad, true)
	state := strings.Replace(string(r.dev.run.State), r.kernel, bad, 1)
	require.NoError(t, r.hub.PostStep(id, 1, []byte(state), "corrupt"))
	r.until("ERROR", func() bool { return r.hub.StepStatus(id, 1) == progress.Error })
	assert.Equal(t, []string{
		"QUEUED Retried 1 of 2",
		"QUEUED Downloading update metadata, retry 1 of 2",
		"DOWNLOADING Downloading update artifacts, retry 1 of 2",
		"DOWNLOADING Downloading update artifacts, retry 2 of 2",
		"ERROR Object validation went wrong",
	}, compact(r.history(id, 1)), "heartbeats while bytes move repeat a line")
	assert.False(t, r.opts.Storage.HasObject(bad))
	assert.Empty(t, r.dev.started())
	p, ok := r.dev.Progress(1)
	require.True(t, ok)
	assert.Equal(t, progress.Error, p.Status)
	assert.True(t, r.log.has("object validation went wrong"))

	// The hub still lists the step: the local final status is sent again.
	require.NoError(t, r.hub.PostStep(id, 2, []byte(state), "again")) // keeps the hub's query busy
	n := len(r.hub.Progress(id, 1))
	r.agent.takeStep(r.ctx, proto.Step{Rev: 1, State: []byte(state)})
	h := r.history(id, 1)
	assert.Len(t, h, n+1)
	assert.Equal(t, "ERROR Object validation went wrong", h[len(h)-1])
}

// TestDownloadRetriesWontGo: a download that fails for another reason
// (the connection cut every time) ends, past Retries, as upstream's
// device says: WONTGO "Max download update retries reached".
func TestDownloadRetriesWontGo(t *testing.T) {
	r := newRig(t, nil, "", true)
	r.opts.Retries = 1
	r.restart()
	id := r.idle()
	obj := r.hub.AddObject([]byte("a kernel the hub never finishes sending"))
	r.hub.DropObject(obj, 5, true)
	state := strings.Replace(string(r.dev.run.State), r.kernel, obj, 1)
	require.NoError(t, r.hub.PostStep(id, 1, []byte(state), "cut"))
	r.until("WONTGO", func() bool { return r.hub.StepStatus(id, 1) == progress.WontGo })
	h := compact(r.history(id, 1))
	assert.Equal(t, "WONTGO Max download update retries reached", h[len(h)-1])
	assert.False(t, r.opts.Storage.HasObject(obj))
	assert.Empty(t, r.dev.started())
}

// TestRefuseOffline: a hub that refuses connections makes the agent
// offline; it comes back online with the hub.
func TestRefuseOffline(t *testing.T) {
	r := newRig(t, nil, "", true)
	r.idle()
	require.True(t, r.agent.State().Online)
	r.hub.Refuse(true)
	r.until("offline", func() bool { return !r.agent.State().Online })
	assert.Equal(t, StateIdle, r.agent.State().State)
	r.hub.Refuse(false)
	r.until("online", func() bool { return r.agent.State().Online })
}

// TestMalformedAnswers: bad JSON and a state naming a path instead of an
// object are log lines or a WONTGO, never a crash or a state change.
func TestMalformedAnswers(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	steps := "/trails/" + id + "/steps"
	r.hub.Answer("GET", steps, 200, []byte(`[{"rev":1,"state":`))
	r.hub.Answer("GET", "/devices/"+id+"/user-meta", 200, []byte(`{"a":`))
	for range 3 {
		r.step(DefaultUpdaterInterval)
	}
	assert.True(t, r.log.has("pending steps: bad hub answer"))
	assert.True(t, r.log.has("user-meta: bad hub answer"))
	assert.Equal(t, StateIdle, r.agent.State().State)
	assert.Equal(t, -1, r.agent.State().Rev)

	r.hub.Answer("GET", steps, 200, []byte(`[{"rev":1,"state":{"#spec":"pantavisor-service-system@1","../../etc/passwd":"root::0:0"}}]`))
	r.step(DefaultUpdaterInterval)
	assert.True(t, r.log.has(`object "../../etc/passwd"`))
	assert.Equal(t, StateIdle, r.agent.State().State)
	assert.Empty(t, r.dev.started())
	_, err := os.Stat(filepath.Join(r.opts.Storage.Root, "trails", "1"))
	assert.True(t, os.IsNotExist(err), "nothing stored for the bad step")
	assert.False(t, r.log.has("storing progress"), "no progress stored for a revision never stored: %q", r.log.all())
}

// TestHangDoesNotBlock: with the hub accepting connections and never
// answering, State answers at once and Run returns when cancelled.
func TestHangDoesNotBlock(t *testing.T) {
	r := newRig(t, nil, "", true)
	r.hub.Hang()
	r.opts.Now, r.opts.Tick = nil, 10*time.Millisecond
	r.opts.Client.Timeout = time.Minute
	r.restart()
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { r.agent.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.hub.Refused() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NotZero(t, r.hub.Refused(), "the agent connected")
	start := time.Now()
	for range 100 {
		assert.Equal(t, StateRegister, r.agent.State().State)
	}
	assert.Less(t, time.Since(start), 100*time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestPushMeta: PushMeta makes the device-meta PUT due at once (pv-ctrl's
// UPDATE_METADATA), still only when something changed.
func TestPushMeta(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	r.until("device-meta sent", func() bool { return r.count("PUT", "/devices/"+id+"/device-meta") == 1 })
	r.dev.devMeta["custom"] = "v1"
	r.step(time.Millisecond)
	assert.Equal(t, 1, r.count("PUT", "/devices/"+id+"/device-meta"), "not due before the interval")
	r.agent.PushMeta()
	r.step(time.Millisecond)
	assert.Equal(t, 2, r.count("PUT", "/devices/"+id+"/device-meta"), "pushed at once")
	assert.Equal(t, "v1", r.hub.DeviceMeta(id)["custom"])
	r.agent.PushMeta()
	r.step(time.Millisecond)
	assert.Equal(t, 2, r.count("PUT", "/devices/"+id+"/device-meta"), "nothing changed: nothing sent")
}

// TestDrain: Drain returns once the report queued before it was sent
// (the device's last status before a reboot), and at once when the
// agent is offline.
func TestDrain(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	require.NoError(t, r.hub.PostStep(id, 1, r.dev.run.State, "same"))
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { r.agent.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	r.agent.Report(1, progress.Make(progress.InProgress, progress.MsgRebooting))
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	r.agent.Drain(dctx)
	require.NoError(t, dctx.Err(), "drained before the timeout")
	assert.Equal(t, []string{"INPROGRESS " + progress.MsgRebooting}, r.history(id, 1), "sent when Drain returns")

	off := newRig(t, nil, "", true) // never ran: offline
	off.agent.Report(1, progress.Make(progress.InProgress, progress.MsgRebooting))
	start := time.Now()
	off.agent.Drain(dctx)
	assert.Less(t, time.Since(start), time.Second, "offline: nothing to wait for")
}
