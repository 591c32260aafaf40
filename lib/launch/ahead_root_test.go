package launch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/testenv"
)

// TestPrepareThenStart: a container prepared ahead starts in the stage
// spawned by Prepare (its init has the stage's pid) and runs as any
// other; preparing twice spawns once; the Ahead is empty afterwards.
func TestPrepareThenStart(t *testing.T) {
	f := newFixture(t)
	install(t, f, "0", `echo prepared-ok`, "")
	before := testenv.TakeResources(t, f.dir, f.parent)
	f.opts.Ahead = &Ahead{}
	r, err := OpenRevision(f.st, "0", f.opts)
	require.NoError(t, err)
	require.NoError(t, r.Prepare("c1", f.opts))
	s := f.opts.Ahead.stages["c1"]
	require.NotNil(t, s)
	require.NoError(t, r.Prepare("c1", f.opts))
	assert.Same(t, s, f.opts.Ahead.stages["c1"], "a second Prepare keeps the first stage")
	require.NoError(t, s.Ready(), "the stage comes up before the start")

	var out testenv.Buffer
	f.opts.Console = &out
	in, err := r.Start("c1", f.opts)
	require.NoError(t, err)
	assert.Equal(t, s.Pid(), in.Pid(), "the init runs in the prepared stage")
	assert.Empty(t, f.opts.Ahead.stages, "the start took it")
	assert.Equal(t, 0, in.Wait())
	require.NoError(t, in.Close())
	assert.Contains(t, console(&out), "prepared-ok")
	after := testenv.TakeResources(t, f.dir, f.parent)
	assert.Equal(t, before.Mounts, after.Mounts, "no mount leaked")
	assert.Empty(t, after.Cgroups, "no cgroup left")
}

// TestPreparedStageThatDoesNotFit: a stage prepared with other process
// options than the start plans (here another path of the stage binary,
// as after a config change) is ended, and the start spawns its own.
func TestPreparedStageThatDoesNotFit(t *testing.T) {
	f := newFixture(t)
	install(t, f, "0", `true`, "")
	r, err := OpenRevision(f.st, "0", f.opts)
	require.NoError(t, err)
	ahead := &Ahead{}
	prep := f.opts
	prep.Ahead = ahead
	prep.Stage.Exe = "/proc/self/exe" // the same binary, named otherwise
	require.NoError(t, r.Prepare("c1", prep))
	old := ahead.stages["c1"].Pid()

	f.opts.Ahead = ahead
	in, err := r.Start("c1", f.opts)
	require.NoError(t, err)
	assert.NotEqual(t, old, in.Pid(), "a new stage runs the init")
	assert.ErrorIs(t, unix.Kill(old, 0), unix.ESRCH, "the stage that did not fit is ended and reaped")
	assert.Equal(t, 0, in.Wait())
	require.NoError(t, in.Close())
}

// TestAheadClose: closing an Ahead (the revision stops or is replaced)
// ends the stages not taken, and a Prepare after it leaves nothing
// running.
func TestAheadClose(t *testing.T) {
	f := newFixture(t)
	install(t, f, "0", `true`, "")
	r, err := OpenRevision(f.st, "0", f.opts)
	require.NoError(t, err)
	f.opts.Ahead = &Ahead{}
	require.NoError(t, r.Prepare("c1", f.opts))
	pid := f.opts.Ahead.stages["c1"].Pid()
	f.opts.Ahead.Close()
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "an idle stage is ended and reaped at Close")
	assert.Empty(t, f.opts.Ahead.stages)

	require.NoError(t, r.Prepare("c1", f.opts))
	assert.Empty(t, f.opts.Ahead.stages, "a closed Ahead keeps nothing")
}

// TestAheadBoundAndFailures: an Ahead keeps at most Max idle stages (the
// next container gets one once a start took one), and a Prepare that
// failed (an unknown container, one without an LXC config) reports its
// error once and is not tried again before that container's start.
func TestAheadBoundAndFailures(t *testing.T) {
	f := newFixture(t)
	install(t, f, "0", `true`, "")
	r, err := OpenRevision(f.st, "0", f.opts)
	require.NoError(t, err)
	two := *r.State.Container("c1")
	two.Name = "c2"
	r.State.Containers = append(r.State.Containers, &two) // the same image and config under another name

	f.opts.Ahead = &Ahead{Max: 1}
	defer f.opts.Ahead.Close()
	assert.ErrorContains(t, r.Prepare("nope", f.opts), `revision 0 has no container "nope"`)
	assert.NoError(t, r.Prepare("nope", f.opts), "a failed Prepare is not tried again")
	require.NoError(t, r.Prepare("c1", f.opts))
	require.NoError(t, r.Prepare("c2", f.opts))
	assert.NotNil(t, f.opts.Ahead.stages["c1"])
	assert.NotContains(t, f.opts.Ahead.stages, "c2", "Max 1: c2 waits for room")

	in, err := r.Start("c1", f.opts)
	require.NoError(t, err)
	require.NoError(t, r.Prepare("c2", f.opts))
	assert.NotNil(t, f.opts.Ahead.stages["c2"], "c1's start made room")
	assert.Equal(t, 0, in.Wait())
	require.NoError(t, in.Close())

	f.opts.Ahead.Max = 0 // room for c1 again
	r.State.Container("c1").Config = ""
	assert.ErrorContains(t, r.Prepare("c1", f.opts), "has no LXC config")
}

// TestPreparedStageKilled: a prepared stage killed while it waited (the
// OOM killer, a user) costs the start nothing: it spawns its own.
func TestPreparedStageKilled(t *testing.T) {
	f := newFixture(t)
	install(t, f, "0", `echo fresh-ok`, "")
	r, err := OpenRevision(f.st, "0", f.opts)
	require.NoError(t, err)
	f.opts.Ahead = &Ahead{}
	require.NoError(t, r.Prepare("c1", f.opts))
	s := f.opts.Ahead.stages["c1"]
	require.NoError(t, s.Ready())
	require.NoError(t, unix.Kill(s.Pid(), unix.SIGKILL))
	require.Eventually(t, s.Gone, 5*time.Second, time.Millisecond)

	var out testenv.Buffer
	f.opts.Console = &out
	in, err := r.Start("c1", f.opts)
	require.NoError(t, err)
	assert.NotEqual(t, s.Pid(), in.Pid(), "a new stage runs the init")
	assert.Equal(t, 0, in.Wait())
	require.NoError(t, in.Close())
	assert.Contains(t, console(&out), "fresh-ok")
}
