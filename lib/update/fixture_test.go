package update

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// revState is a one-container state whose config object says tag; policy
// is the container's restart_policy.
func revState(tag, policy string) (json []byte, objects [][]byte) {
	conf := []byte("lxc.rootfs.path = overlayfs:" + tag)
	return []byte(`{"#spec":"pantavisor-service-system@1","app/lxc.container.conf":"` + sum(conf) +
		`","app/run.json":{"name":"app","type":"lxc","config":"lxc.container.conf","restart_policy":"` + policy + `"}}`), [][]byte{conf}
}

// fakeBoot is an in-memory Boot that journals its calls.
type fakeBoot struct {
	rev, try string
	calls    []string
	onCommit func(rev string)
}

func (b *fakeBoot) Committed() string {
	if b.rev == "" {
		return "0"
	}
	return b.rev
}
func (b *fakeBoot) Pending() string { return b.try }
func (b *fakeBoot) Install(rev string) error {
	b.calls = append(b.calls, "install "+rev)
	b.try = rev
	return nil
}
func (b *fakeBoot) Commit(rev string) error {
	if b.onCommit != nil {
		b.onCommit(rev)
	}
	b.calls = append(b.calls, "commit "+rev)
	b.rev, b.try = rev, ""
	return nil
}
func (b *fakeBoot) Fail() error {
	b.calls = append(b.calls, "fail")
	b.try = ""
	return nil
}

// fixture is a storage with the factory revision 0 (DONE) and a local step
// locals/x (its objects uploaded), an updater on a fake boot and clock.
type fixture struct {
	t      *testing.T
	st     *storage.Storage
	boot   *fakeBoot
	u      *Updater
	now    time.Time
	cur    *state.State
	steps  []string // Changes calls
	remote Remote   // the updaters' Remote (nil: none)
}

const stepRev = "locals/x"

func newFixture(t *testing.T, reboot bool) *fixture {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	require.NoError(t, err)
	f := &fixture{t: t, st: st, boot: &fakeBoot{}, now: time.Now()}
	j0, objs0 := revState("old", "container")
	f.storeObjects(objs0)
	f.cur, err = st.Install("0", j0, nil)
	require.NoError(t, err)
	require.NoError(t, st.SetProgress("0", progress.Make(progress.Done, progress.MsgFactory).Bytes()))
	require.NoError(t, st.SetCurrent("0"))
	f.upload(stepRev, "new")
	f.u = f.updater(reboot)
	return f
}

// updater is a new Updater on f's storage and boot (a fresh process).
func (f *fixture) updater(reboot bool) *Updater {
	return &Updater{Storage: f.st, Boot: f.boot, Now: func() time.Time { return f.now }, Remote: f.remote,
		Changes: func(cur, next *state.State) (bool, []string, string) {
			f.steps = append(f.steps, "changes")
			if reboot {
				return true, nil, "bsp changed"
			}
			return false, []string{"app"}, ""
		}}
}

func (f *fixture) storeObjects(objs [][]byte) {
	for _, o := range objs {
		_, err := f.st.InstallObject(sum(o), int64(len(o)), strings.NewReader(string(o)))
		require.NoError(f.t, err)
	}
}

// upload stores a local step as PUT /objects and PUT /steps do.
func (f *fixture) upload(rev, tag string) {
	j, objs := revState(tag, "container")
	f.storeObjects(objs)
	_, err := f.st.PutState(rev, int64(len(j)), strings.NewReader(string(j)))
	require.NoError(f.t, err)
}

func (f *fixture) progress(rev string) progress.Progress {
	data, err := f.st.Progress(rev)
	require.NoError(f.t, err)
	p, err := progress.Parse(data)
	require.NoError(f.t, err, "%s", data)
	return p
}

// requireStatus checks rev's status, message and upstream percent.
func (f *fixture) requireStatus(rev, status, msg string) {
	f.t.Helper()
	p := f.progress(rev)
	require.Equal(f.t, status, p.Status, "%s: %q", rev, p.Msg)
	require.Equal(f.t, msg, p.Msg)
	require.Equal(f.t, progress.Percent(status), p.Progress)
}

func (f *fixture) trailFile(rev string, elem ...string) string {
	return filepath.Join(append([]string{f.st.TrailPath(rev)}, elem...)...)
}

func (f *fixture) removeObjects(rev string) {
	data, err := f.st.StateJSON(rev)
	require.NoError(f.t, err)
	st, err := state.Parse(data, state.Options{})
	require.NoError(f.t, err)
	for _, o := range st.Objects {
		require.NoError(f.t, os.Remove(f.st.ObjectPath(o.SHA)))
	}
}
