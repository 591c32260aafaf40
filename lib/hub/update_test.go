package hub

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
)

// TestDownloadResumes: a connection cut mid-object is a retry that
// continues with a Range request; the object is stored whole and the
// bytes served stay close to its size.
func TestDownloadResumes(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	obj := []byte(strings.Repeat("0123456789abcdef", 64<<10)) // 1 MiB
	sha := r.hub.AddObject(obj)
	r.hub.DropObject(sha, int64(len(obj))/2, false)
	state := strings.Replace(string(r.dev.run.State), r.kernel, sha, 1)
	require.NoError(t, r.hub.PostStep(id, 1, []byte(state), "big"))
	r.until("hand-over", func() bool { return len(r.dev.started()) == 1 })
	assert.True(t, r.opts.Storage.HasObject(sha))
	assert.LessOrEqual(t, r.hub.BytesServed(sha), int64(len(obj))*11/10)
	h := compact(r.history(id, 1))
	assert.Equal(t, "DOWNLOADING Downloading update artifacts, retry 2 of 10", h[len(h)-1])
	assert.True(t, r.log.has("object download incomplete"))
	var ranged bool
	for _, q := range r.hub.Requests() {
		ranged = ranged || q.Header.Get("Range") != ""
	}
	assert.True(t, ranged, "the second download asked for the rest only")

	// The device writes its final status but does not Report it: the
	// agent finds it and sends it.
	require.NoError(t, r.dev.SetProgress(1, progress.Make(progress.Done, progress.MsgDone)))
	r.until("final", func() bool { return r.agent.State().Rev == -1 })
	assert.Equal(t, progress.Done, r.hub.StepStatus(id, 1))
}

// TestSpaceWontGo: objects larger than the storage's room are refused
// before any download with upstream's "Space required" text.
func TestSpaceWontGo(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	sha := r.hub.AddObject([]byte("small on the hub, huge in its metadata"))
	r.hub.Answer("GET", "/objects/"+sha, 200,
		[]byte(fmt.Sprintf(`{"sha256sum":%q,"size":"900000000000000000","signed-geturl":"https://%s/local-s3/x"}`, sha, r.hub.Addr())))
	state := strings.Replace(string(r.dev.run.State), r.kernel, sha, 1)
	require.NoError(t, r.hub.PostStep(id, 1, []byte(state), "huge"))
	r.until("WONTGO", func() bool { return r.hub.StepStatus(id, 1) == progress.WontGo })
	h := r.history(id, 1)
	assert.Regexp(t, `^WONTGO Space required 900000000000000000 B, available \d+ B$`, h[len(h)-1])
	assert.Zero(t, r.hub.BytesServed(sha))
	assert.Equal(t, 0, r.count("GET", "/local-s3/x"))
	assert.Empty(t, r.dev.started())
	assert.Equal(t, StateIdle, r.agent.State().State)
}

// TestRunReportWakes: Report wakes Run at once, whatever its Tick.
func TestRunReportWakes(t *testing.T) {
	r := newRig(t, nil, "", true)
	id := r.idle()
	r.agent.o.Tick = time.Hour
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { r.agent.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	r.agent.Report(0, progress.Make(progress.Done, progress.MsgFactory))
	deadline := time.Now().Add(3 * time.Second)
	for len(r.hub.Progress(id, 0)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.Len(t, r.hub.Progress(id, 0), 1)
	assert.Equal(t, "DONE Factory revision", r.history(id, 0)[0])
}
