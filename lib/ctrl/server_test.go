package ctrl

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/meta"
	"pantavisor/lib/state"
)

var update = flag.Bool("update", false, "rewrite testdata/golden and testdata/storage from the responses")

const sha = "1111111111111111111111111111111111111111111111111111111111111111"

// testStateJSON has containers for every kind of caller:
//   - mgmt: no roles (mgmt by default), group app (restart_policy container);
//   - plain: role nobody, group app;
//   - ready: role nobody, goal READY, group platform (restart_policy system);
//   - drv: role mgmt, drivers.
func testStateJSON() string {
	ctr := func(name, extra string) string {
		return `"` + name + `/lxc.container.conf":"` + sha + `","` + name + `/run.json":{"name":"` + name +
			`","type":"lxc","config":"lxc.container.conf"` + extra + `}`
	}
	return `{"#spec":"pantavisor-service-system@1",` +
		ctr("mgmt", `,"group":"app"`) + "," +
		ctr("plain", `,"group":"app","roles":["nobody"]`) + "," +
		ctr("ready", `,"group":"platform","roles":["nobody"],"status_goal":"READY"`) + "," +
		ctr("drv", `,"group":"platform","roles":["mgmt"],"drivers":{"required":["wifi"],"optional":["usb"],"manual":["bt"]}`) +
		`}`
}

func testState(t testing.TB) *state.State {
	st, err := state.Parse([]byte(testStateJSON()), state.Options{})
	require.NoError(t, err)
	return st
}

// fakeEngine answers from fixed lists and records signals and controls.
type fakeEngine struct {
	mu         sync.Mutex
	cs         []engine.ContainerStatus
	gs         []engine.GroupStatus
	calls      []string
	signalErr  error
	controlErr error
}

func (e *fakeEngine) Containers() []engine.ContainerStatus { return e.cs }
func (e *fakeEngine) Groups() []engine.GroupStatus         { return e.gs }

func (e *fakeEngine) Signal(_ context.Context, name, kind string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, "signal "+name+" "+kind)
	return e.signalErr
}

func (e *fakeEngine) Control(_ context.Context, name, action string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, "control "+name+" "+action)
	return e.controlErr
}

func (e *fakeEngine) recorded() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

func newFakeEngine(st *state.State) *fakeEngine {
	ar := &state.AutoRecovery{Policy: "on-failure", MaxRetries: 3, StableTimeout: 60, BackoffPolicy: "10s"}
	return &fakeEngine{
		cs: []engine.ContainerStatus{
			{Name: "mgmt", Group: "app", Goal: "STARTED", Status: engine.Started, RestartPolicy: "container",
				Retries: 1, Stable: true, AutoRecovery: ar},
			{Name: "plain", Group: "app", Goal: "STARTED", Status: engine.Stopped, RestartPolicy: "container",
				Roles: []string{"nobody"}, UserStopped: true},
			{Name: "ready", Group: "platform", Goal: "READY", Status: engine.Ready, RestartPolicy: "system",
				Roles: []string{"nobody"}},
			{Name: "drv", Group: "", Goal: "", Status: engine.Installed, RestartPolicy: "system",
				Roles: []string{"mgmt"}, AutoRecovery: &state.AutoRecovery{Policy: "no"}},
		},
		gs: []engine.GroupStatus{
			{Name: "data", Goal: "MOUNTED", RestartPolicy: "system", Status: engine.Ready},
			{Name: "app", Goal: "STARTED", RestartPolicy: "container", Status: engine.Started,
				AutoRecovery: &state.AutoRecovery{Policy: "on-failure", MaxRetries: 5, StableTimeout: 30, BackoffPolicy: "2min"}},
		},
	}
}

// testServer is a Server on a socket in a temporary directory whose
// callers are named by as (every request comes from the test's own pid).
type testServer struct {
	*Server
	eng *fakeEngine

	mu     sync.Mutex
	caller string
	idErr  error
}

// newTestServer starts a test server after applying setup (nil ones are
// skipped): fields the handlers read must be set before Start.
func newTestServer(t *testing.T, setup ...func(*testServer)) *testServer {
	t.Helper()
	dir := t.TempDir()
	st := testState(t)
	ts := &testServer{eng: newFakeEngine(st)}
	ts.Server = &Server{
		Socket:    filepath.Join(dir, "pv-ctrl"),
		State:     st,
		Engine:    ts.eng,
		DevMeta:   &meta.Store{Kind: meta.Device, RunDir: filepath.Join(dir, "run")},
		UsrMeta:   &meta.Store{Kind: meta.User, RunDir: filepath.Join(dir, "run")},
		Config:    config.New(),
		BuildInfo: []byte("pantavisor test build\n"),
		Identify: func(int) (string, error) {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			return ts.caller, ts.idErr
		},
	}
	for _, f := range setup {
		if f != nil {
			f(ts)
		}
	}
	require.NoError(t, ts.Start())
	t.Cleanup(func() { ts.Close() })
	return ts
}

// as makes the next requests come from container name ("" is _pv_).
func (ts *testServer) as(name string) { ts.mu.Lock(); ts.caller = name; ts.mu.Unlock() }

// request builds an HTTP/1.0 request as pvcurl sends it.
func request(method, target, body string) string {
	return method + " " + target + " HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// raw sends raw request bytes and returns every byte of the answer, read
// until the server closes the connection.
func (ts *testServer) raw(t *testing.T, req string) string {
	t.Helper()
	c, err := net.Dial("unix", ts.Socket)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

// do sends one request from caller and returns the raw answer.
func (ts *testServer) do(t *testing.T, caller, method, target, body string) string {
	t.Helper()
	ts.as(caller)
	return ts.raw(t, request(method, target, body))
}

// parsed splits a raw answer into status code, header block and body.
func parsed(t *testing.T, resp string) (int, string, string) {
	t.Helper()
	head, body, ok := strings.Cut(resp, "\r\n\r\n")
	require.True(t, ok, "no end of header in %q", resp)
	line, _, _ := strings.Cut(head, "\r\n")
	f := strings.Fields(line)
	require.GreaterOrEqual(t, len(f), 2, line)
	code, err := strconv.Atoi(f[1])
	require.NoError(t, err, line)
	return code, head, body
}

func header(head, name string) string {
	for _, l := range strings.Split(head, "\r\n")[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// golden compares resp with testdata/golden/<name>.txt (rewritten with -update).
func golden(t *testing.T, name, resp string) {
	t.Helper()
	goldenFile(t, filepath.Join("testdata", "golden", name+".txt"), resp)
}

// goldenFile compares got with the file at p, or rewrites it under -update.
func goldenFile(t *testing.T, p, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got, p)
}

func errorBody(msg string) string { return `{"Error":"` + msg + `"}` }

var errBoom = errors.New("boom")

var _ = bytes.Equal
