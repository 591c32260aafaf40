package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/hub/hubtest"
	"pantavisor/lib/progress"
	"pantavisor/lib/storage"
)

const autoTok = "dGVzdC1hdXRvLXRva2Vu"

// clock is the fake clock: tests move it, the agent reads it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// logs collects log lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *logs) has(sub string) bool {
	for _, s := range l.all() {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// fakeDev is a Device over a real lib/storage: steps and progress go to
// the storage as the device's glue would store them.
type fakeDev struct {
	st  *storage.Storage
	run Revision

	mu       sync.Mutex
	ran      []int
	devMeta  map[string]string
	userMeta map[string]string
}

func (d *fakeDev) Running() Revision { return d.run }

func (d *fakeDev) Progress(rev int) (progress.Progress, bool) {
	data, err := d.st.Progress(strconv.Itoa(rev))
	if err != nil || data == nil {
		return progress.Progress{}, false
	}
	p, err := progress.Parse(data)
	return p, err == nil
}

func (d *fakeDev) SetProgress(rev int, p progress.Progress) error {
	return d.st.SetProgress(strconv.Itoa(rev), p.Bytes())
}

func (d *fakeDev) PutStep(rev int, state []byte) error {
	_, err := d.st.PutState(strconv.Itoa(rev), int64(len(state)), bytes.NewReader(state))
	return err
}

func (d *fakeDev) RunStep(rev int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ran = append(d.ran, rev)
	return nil
}

func (d *fakeDev) started() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int(nil), d.ran...)
}

func (d *fakeDev) DeviceMeta() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.devMeta)
}

func (d *fakeDev) UserMeta() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.userMeta)
}

func (d *fakeDev) ApplyUserMeta(set map[string]string, del []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range set {
		d.userMeta[k] = v
	}
	for _, k := range del {
		delete(d.userMeta, k)
	}
	return nil
}

func (d *fakeDev) user(k string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.userMeta[k]
	return v, ok
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// rig is an agent, its device and a fake hub.
type rig struct {
	t      testing.TB
	hub    *hubtest.Hub
	dev    *fakeDev
	agent  *Agent
	clk    *clock
	log    *logs
	opts   Options
	ctx    context.Context
	tokens map[string]bool // every token the agent held
	kernel string          // sha of the factory kernel
}

// factoryState is rev 0's state with its objects.
func factoryState(t testing.TB, st *storage.Storage) (state []byte, kernel string) {
	kern, initrd := []byte("factory kernel"), []byte("factory initrd")
	for _, b := range [][]byte{kern, initrd} {
		_, err := st.InstallObject(sum(b), int64(len(b)), bytes.NewReader(b))
		require.NoError(t, err)
	}
	return []byte(`{"#spec":"pantavisor-service-system@1","bsp/run.json":{"linux":"kernel.img","initrd":"pantavisor"},` +
		`"bsp/kernel.img":"` + sum(kern) + `","bsp/pantavisor":"` + sum(initrd) + `"}`), sum(kern)
}

// newRig starts a hub (accepting autoTok) and an agent over fresh files
// in dir ("" : a new temporary directory); auto sends the auto-token.
func newRig(t testing.TB, h *hubtest.Hub, dir string, auto bool) *rig {
	t.Helper()
	if h == nil {
		h = hubtest.Start(t, hubtest.Options{AutoToken: autoTok})
	}
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	state, kernel := factoryState(t, st)
	r := &rig{t: t, hub: h, clk: &clock{now: time.Unix(1_800_000_000, 0)}, log: &logs{}, tokens: map[string]bool{}, kernel: kernel}
	r.dev = &fakeDev{st: st, run: Revision{Rev: "0", State: state}, devMeta: map[string]string{"pantavisor.arch": "x86_64"},
		userMeta: map[string]string{}}
	r.opts = Options{
		Client:    hubhttp.Client{Host: h.Host(), Port: h.Port(), CAFile: h.CAFile(), UserAgent: hubhttp.UserAgent("x86_64", "test", "today"), Timeout: 5 * time.Second},
		CredsFile: filepath.Join(dir, "pantahub.config"),
		PVDir:     dir,
		Storage:   st,
		Now:       r.clk.Now,
		Log:       r.log,
	}
	if auto {
		r.opts.AutoToken = autoTok
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r.ctx = ctx
	r.agent = New(r.opts, r.dev)
	return r
}

// restart replaces the agent by a new one with the same options.
func (r *rig) restart() { r.agent = New(r.opts, r.dev) }

// step moves the clock by d and steps the agent once.
func (r *rig) step(d time.Duration) {
	r.clk.advance(d)
	r.agent.step(r.ctx)
	if r.agent.token != "" {
		r.tokens[r.agent.token] = true
	}
}

// until steps (ReqInterval each) until cond holds, failing after limit of
// wall time; downloads run for real, so it also sleeps a little.
func (r *rig) until(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("waiting for %s: state %+v; log:\n%s", what, r.agent.State(), strings.Join(r.log.all(), "\n"))
		}
		r.step(ReqInterval)
		time.Sleep(2 * time.Millisecond)
	}
}

// idle brings a device registered with the auto-token to idle.
func (r *rig) idle() string {
	r.t.Helper()
	r.until("idle", func() bool { return r.agent.State().State == StateIdle })
	return r.agent.State().DeviceID
}

// count is the number of requests with method and path.
func (r *rig) count(method, path string) int {
	n := 0
	for _, q := range r.hub.Requests() {
		if q.Method == method && q.Path == path {
			n++
		}
	}
	return n
}

// history is the hub's progress history of rev as "STATUS msg" lines.
func (r *rig) history(id string, rev int) []string {
	var out []string
	for _, p := range r.hub.Progress(id, rev) {
		out = append(out, p.Status+" "+p.StatusMsg)
	}
	return out
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
