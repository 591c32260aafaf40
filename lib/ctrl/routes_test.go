package ctrl

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/engine"
	"pantavisor/lib/meta"
)

// TestGolden compares the full raw answer of every route of this file
// with testdata/golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	cases := []struct {
		name, caller, method, target, body string
		setup                              func(ts *testServer)
	}{
		{name: "containers", method: "GET", target: "/containers"},
		{name: "containers_put_stop", method: "PUT", target: "/containers/plain", body: `{"action":"stop"}`},
		{name: "groups", method: "GET", target: "/groups"},
		{name: "signal_ready", caller: "ready", method: "POST", target: "/signal", body: `{"type":"ready","payload":""}`},
		{name: "commands_reboot", method: "POST", target: "/commands", body: `{"op":"REBOOT_DEVICE","payload":"bye"}`},
		{name: "commands_pending", method: "POST", target: "/commands", body: `{"op":"RUN_GC","payload":""}`,
			setup: func(ts *testServer) { ts.pending = true }},
		{name: "user_meta_list", method: "GET", target: "/user-meta", setup: func(ts *testServer) {
			ts.UsrMeta.Set("a.b", "1")
			ts.UsrMeta.Set("obj", `{"x": [1, 2]}`)
			ts.UsrMeta.Set("text", "say \"hi\"\n")
		}},
		{name: "user_meta_put", method: "PUT", target: "/user-meta/mgmt.key", body: "value"},
		{name: "user_meta_delete", method: "DELETE", target: "/user-meta/k", setup: func(ts *testServer) { ts.UsrMeta.Set("k", "v") }},
		{name: "device_meta_list", method: "GET", target: "/device-meta", setup: func(ts *testServer) {
			ts.DevMeta.SetStatus("READY")
			ts.DevMeta.Set("interfaces", `{"eth0.ipv4":["192.168.1.10"]}`)
		}},
		{name: "device_meta_put", method: "PUT", target: "/device-meta/k", body: "v"},
		{name: "device_meta_delete", method: "DELETE", target: "/device-meta/k", setup: func(ts *testServer) { ts.DevMeta.Set("k", "v") }},
		{name: "buildinfo", method: "GET", target: "/buildinfo"},
		{name: "config", method: "GET", target: "/config"},
		{name: "config2", method: "GET", target: "/config2"},
		{name: "drivers_pv", method: "GET", target: "/drivers"},
		{name: "drivers_none", caller: "mgmt", method: "GET", target: "/drivers"},
		{name: "drivers_list", caller: "drv", method: "GET", target: "/drivers"},
		{name: "drivers_load", caller: "mgmt", method: "PUT", target: "/drivers/load"},
		{name: "drivers_load_manual", caller: "drv", method: "PUT", target: "/drivers/load"},
		{name: "drivers_unload", caller: "drv", method: "PUT", target: "/drivers/unload"},
		{name: "driver_load", caller: "drv", method: "PUT", target: "/drivers/bt/load"},
		{name: "driver_unload", caller: "drv", method: "PUT", target: "/drivers/bt/unload"},
		{name: "daemons", method: "GET", target: "/daemons"},
		{name: "daemons_put", method: "PUT", target: "/daemons/hwrngd", body: `{"action":"stop"}`},
		{name: "xconnect_graph", method: "GET", target: "/xconnect-graph"},
		{name: "wakelocks", method: "GET", target: "/wakelocks"},
		{name: "unknown", method: "GET", target: "/nope?x=1"},
		{name: "wrong_method", method: "POST", target: "/containers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, c.setup)
			resp := ts.do(t, c.caller, c.method, c.target, c.body)
			golden(t, c.name, resp)
			code, head, body := parsed(t, resp)
			if strings.HasPrefix(header(head, "Content-Type"), "application/json") && body != "" && code != 204 {
				assert.True(t, json.Valid([]byte(body)), "not JSON: %s", body)
			}
		})
	}
}

// TestErrors checks every error case of the reference table for these
// routes: status and exact body.
func TestErrors(t *testing.T) {
	big := strings.Repeat("x", 4097)
	cases := []struct {
		name, caller, method, target, body string
		setup                              func(ts *testServer)
		status                             int
		msg                                string
	}{
		{name: "unknown endpoint", method: "GET", target: "/foo/bar?q", status: 400, msg: "unknown endpoint: /foo/bar?q"},
		{name: "trailing slash", method: "GET", target: "/containers/", status: 400, msg: "unknown endpoint: /containers/"},
		{name: "exact wrong method", method: "DELETE", target: "/groups", status: 400, msg: "Method not supported for this endpoint"},
		{name: "template wrong method", method: "GET", target: "/containers/x", status: 400, msg: "Method not supported for this endpoint"},
		{name: "containers no engine", method: "GET", target: "/containers", setup: noEngine, status: 500, msg: "State not loaded yet"},
		{name: "groups no engine", method: "GET", target: "/groups", setup: noEngine, status: 500, msg: "State not loaded yet"},
		{name: "container not found", method: "PUT", target: "/containers/nope", body: `{"action":"stop"}`, status: 404, msg: "Container not found"},
		{name: "container system", method: "PUT", target: "/containers/ready", body: `{"action":"stop"}`, status: 403,
			msg: "Container has restart_policy 'system' and cannot be controlled via API"},
		{name: "container no data", method: "PUT", target: "/containers/plain", status: 400, msg: "No data"},
		{name: "container too big", method: "PUT", target: "/containers/plain", body: big[:1025], status: 507, msg: "Not enough disk space available"},
		{name: "container bad json", method: "PUT", target: "/containers/plain", body: `{"action":`, status: 400, msg: "Invalid JSON"},
		{name: "container no action", method: "PUT", target: "/containers/plain", body: `{"act":"stop"}`, status: 400, msg: "Missing 'action' field"},
		{name: "container bad action", method: "PUT", target: "/containers/plain", body: `{"action":"kill"}`, status: 400,
			msg: "Invalid action. Use 'start', 'stop', or 'restart'"},
		{name: "container not startable", method: "PUT", target: "/containers/plain", body: `{"action":"start"}`,
			setup: controlErr(engine.ErrNotStartable), status: 400, msg: "Container must be in STOPPED, STOPPING, or RECOVERING state to start"},
		{name: "container not restartable", method: "PUT", target: "/containers/plain", body: `{"action":"restart"}`,
			setup: controlErr(engine.ErrNotRestartable), status: 400, msg: "Container state does not allow restart"},
		{name: "container engine not found", method: "PUT", target: "/containers/plain", body: `{"action":"restart"}`,
			setup: controlErr(engine.ErrNoContainer), status: 404, msg: "Container not found"},
		{name: "container other", method: "PUT", target: "/containers/plain", body: `{"action":"restart"}`,
			setup: controlErr(errBoom), status: 500, msg: "Out of memory"},
		{name: "signal bad format", caller: "ready", method: "POST", target: "/signal", body: `{"payload":""}`, status: 400, msg: "Signal has bad format"},
		{name: "signal empty", caller: "ready", method: "POST", target: "/signal", status: 400, msg: "Signal has bad format"},
		{name: "signal not json", caller: "ready", method: "POST", target: "/signal", body: "ready", status: 400, msg: "Signal has bad format"},
		{name: "signal too big", caller: "ready", method: "POST", target: "/signal", body: big, status: 507, msg: "Not enough disk space available"},
		{name: "signal no engine", caller: "ready", method: "POST", target: "/signal", body: `{"type":"ready"}`, setup: noEngine,
			status: 500, msg: "State not loaded yet"},
		{name: "signal from _pv_", method: "POST", target: "/signal", body: `{"type":"ready","payload":""}`, status: 500,
			msg: "Signal not expected from this platform"},
		{name: "signal refused", caller: "plain", method: "POST", target: "/signal", body: `{"type":"alive","payload":""}`,
			setup: signalErr, status: 500, msg: "Signal not expected from this platform"},
		{name: "signal unknown caller", caller: "ghost", method: "POST", target: "/signal", body: `{"type":"ready"}`, status: 500, msg: "Internal Error"},
		{name: "commands empty", method: "POST", target: "/commands", status: 400, msg: "No command found"},
		{name: "commands bad", method: "POST", target: "/commands", body: `{"op":"NOPE","payload":""}`, status: 400, msg: "Command has bad format"},
		{name: "commands too big", method: "POST", target: "/commands", body: big, status: 507, msg: "Not enough disk space available"},
		{name: "user-meta put no length", method: "PUT", target: "/user-meta/k", status: 400, msg: "Cannot add or update user meta"},
		{name: "user-meta put too big", method: "PUT", target: "/user-meta/k", body: big, status: 507, msg: "Not enough disk space available"},
		{name: "user-meta put bad key", method: "PUT", target: "/user-meta/.k", body: "v", status: 500, msg: "Cannot add or update user meta"},
		{name: "user-meta delete missing", method: "DELETE", target: "/user-meta/k", status: 404, msg: "User meta does not exist"},
		{name: "user-meta list no store", method: "GET", target: "/user-meta", setup: func(ts *testServer) { ts.UsrMeta = nil },
			status: 500, msg: "couldn't get user-meta"},
		{name: "device-meta put no length", method: "PUT", target: "/device-meta/k", status: 400, msg: "Cannot add or update device meta"},
		{name: "device-meta put too big", method: "PUT", target: "/device-meta/k", body: big, status: 507, msg: "Not enough disk space available"},
		{name: "device-meta delete missing", method: "DELETE", target: "/device-meta/k", status: 404, msg: "Device meta does not exist"},
		{name: "device-meta put published", caller: "mgmt", method: "PUT", target: "/device-meta/pantavisor.status", body: "FORGED",
			status: 403, msg: "Device meta key is managed by Pantavisor and cannot be changed via API"},
		{name: "device-meta put published by host", method: "PUT", target: "/device-meta/interfaces", body: "{}",
			status: 403, msg: "Device meta key is managed by Pantavisor and cannot be changed via API"},
		{name: "device-meta delete published", caller: "mgmt", method: "DELETE", target: "/device-meta/pantavisor.revision",
			setup:  func(ts *testServer) { ts.DevMeta.SetRevision("1") },
			status: 403, msg: "Device meta key is managed by Pantavisor and cannot be changed via API"},
		{name: "device-meta delete published unset", method: "DELETE", target: "/device-meta/pantahub.state",
			status: 403, msg: "Device meta key is managed by Pantavisor and cannot be changed via API"},
		{name: "device-meta list no store", method: "GET", target: "/device-meta", setup: func(ts *testServer) { ts.DevMeta = nil },
			status: 500, msg: "couldn't get device-meta"},
		{name: "driver load", caller: "drv", method: "PUT", target: "/drivers/bt/load", status: 400, msg: "Error loading driver"},
		{name: "drivers load", caller: "drv", method: "PUT", target: "/drivers/load", status: 400, msg: "Error loading drivers"},
		{name: "daemon not found", method: "PUT", target: "/daemons/hwrngd", body: `{"action":"start"}`, status: 404, msg: "Daemon not found"},
		{name: "xconnect", method: "GET", target: "/xconnect-graph", status: 404, msg: "xconnect not enabled at build time"},
		{name: "identify fails exact", method: "GET", target: "/containers", setup: idErr, status: 500, msg: "Internal Error"},
		{name: "identify fails template", method: "PUT", target: "/containers/x", setup: idErr, status: 500, msg: "Internal error, unknown caller"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, c.setup)
			code, head, body := parsed(t, ts.do(t, c.caller, c.method, c.target, c.body))
			assert.Equal(t, c.status, code)
			assert.Equal(t, errorBody(c.msg), body)
			assert.Equal(t, "application/json", header(head, "Content-Type"))
		})
	}
}

func noEngine(ts *testServer)  { ts.SetRevision(ts.State, nil) }
func signalErr(ts *testServer) { ts.eng.signalErr = errBoom }
func idErr(ts *testServer)     { ts.idErr = errBoom }
func controlErr(err error) func(*testServer) {
	return func(ts *testServer) { ts.eng.controlErr = err }
}

// concrete replaces the {} of a template with a name.
func concrete(path string) string { return strings.ReplaceAll(path, "{}", "x") }

// TestPermissions: every route but POST /signal refuses a container
// without role mgmt (403, two spellings) and every route answers an
// unknown caller with 500 (two spellings), before the method is checked
// on template routes.
func TestPermissions(t *testing.T) {
	ts := newTestServer(t)
	for _, tab := range tables() {
		for _, r := range tab {
			target := concrete(r.path)
			tmpl := isTemplate(r.path)
			code, _, body := parsed(t, ts.do(t, "plain", r.method, target, ""))
			if r.anyCaller {
				assert.NotEqual(t, 403, code, "%s %s", r.method, r.path)
			} else {
				want := "Request not sent from a mgmt platform"
				if tmpl {
					want = "Request not sent from mgmt platform"
				}
				assert.Equal(t, 403, code, "%s %s", r.method, r.path)
				assert.Equal(t, errorBody(want), body, "%s %s", r.method, r.path)
			}
			code, _, body = parsed(t, ts.do(t, "ghost", r.method, target, ""))
			want := "Internal Error"
			if tmpl {
				want = "Internal error, unknown caller"
			}
			assert.Equal(t, 500, code, "%s %s", r.method, r.path)
			assert.Equal(t, errorBody(want), body, "%s %s", r.method, r.path)
		}
	}
}

// TestCallers: _pv_ and its prefixes are privileged, a container is
// privileged by role mgmt, appengine strips -<digits>.
func TestCallers(t *testing.T) {
	servers := map[bool]*testServer{
		false: newTestServer(t),
		true:  newTestServer(t, func(ts *testServer) { ts.AppEngine = true }),
	}
	for _, c := range []struct {
		name      string
		appengine bool
		status    int
	}{
		{"", false, 200}, {"_pv_", false, 200}, {"_pv", false, 200}, {"_", false, 200},
		{"_pv_x", false, 500}, {"mgmt", false, 200}, {"drv", false, 200}, {"plain", false, 403},
		{"ready", false, 403}, {"mgmt-12", false, 500}, {"mgmt-12", true, 200}, {"plain-3", true, 403},
		{"mgmt-", true, 500}, {"mgmt-x1", true, 500}, {"-12", true, 500},
	} {
		ts := servers[c.appengine]
		code, _, _ := parsed(t, ts.do(t, c.name, "GET", "/groups", ""))
		assert.Equal(t, c.status, code, "caller %q appengine %v", c.name, c.appengine)
	}
}

func TestSignalReady(t *testing.T) {
	ts := newTestServer(t)
	code, _, body := parsed(t, ts.do(t, "ready", "POST", "/signal", `{"type":"ready","payload":""}`))
	assert.Equal(t, 200, code)
	assert.Empty(t, body)
	assert.Equal(t, []string{"signal ready ready"}, ts.eng.recorded())
}

func TestControlContainer(t *testing.T) {
	ts := newTestServer(t)
	for _, a := range []string{"start", "stop", "restart"} {
		code, _, _ := parsed(t, ts.do(t, "", "PUT", "/containers/mgmt", `{"action":"`+a+`"}`))
		assert.Equal(t, 200, code)
	}
	assert.Equal(t, []string{"control mgmt start", "control mgmt stop", "control mgmt restart"}, ts.eng.recorded())
}

func TestUserMetaStore(t *testing.T) {
	var mu sync.Mutex
	var changes []string
	ts := newTestServer(t, func(ts *testServer) {
		ts.UsrMeta.OnChange = func(k, v string, del bool) { mu.Lock(); changes = append(changes, k+"="+v); mu.Unlock() }
	})
	code, _, _ := parsed(t, ts.do(t, "", "PUT", "/user-meta/PV_LOG_LEVEL", "5"))
	require.Equal(t, 200, code)
	v, err := ts.UsrMeta.Get("PV_LOG_LEVEL")
	require.NoError(t, err)
	assert.Equal(t, "5", v)
	code, _, _ = parsed(t, ts.do(t, "", "DELETE", "/user-meta/PV_LOG_LEVEL", ""))
	require.Equal(t, 200, code)
	mu.Lock()
	assert.Equal(t, []string{"PV_LOG_LEVEL=5", "PV_LOG_LEVEL="}, changes)
	mu.Unlock()
	// a query is part of the key, as upstream: refused as an invalid key
	code, _, _ = parsed(t, ts.do(t, "", "PUT", "/user-meta/k?x", "v"))
	assert.Equal(t, 200, code)
	_, err = ts.UsrMeta.Get("k?x")
	assert.NoError(t, err)
}

func TestNoContent(t *testing.T) {
	ts := newTestServer(t, func(ts *testServer) { ts.Remote = func() bool { return true } })
	golden(t, "commands_go_remote_204", ts.do(t, "", "POST", "/commands", `{"op":"GO_REMOTE","payload":""}`))
}

// TestHTTP11 is pvtx's and curl's framing: HTTP/1.1 with Content-Length.
func TestHTTP11(t *testing.T) {
	ts := newTestServer(t)
	resp := ts.raw(t, "GET /wakelocks HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	golden(t, "wakelocks_http11", resp)
}

// TestDevMetaPublishedReadOnly: a mgmt container can neither overwrite
// nor delete the keys Pantavisor publishes; their values stay, and other
// keys are still the clients'.
func TestDevMetaPublishedReadOnly(t *testing.T) {
	ts := newTestServer(t, func(ts *testServer) {
		ts.DevMeta.SetStatus("READY")
		ts.DevMeta.SetRevision("locals/a")
	})
	code, _, _ := parsed(t, ts.do(t, "mgmt", "PUT", "/device-meta/pantavisor.status", "ERROR"))
	assert.Equal(t, 403, code)
	code, _, _ = parsed(t, ts.do(t, "mgmt", "DELETE", "/device-meta/pantavisor.revision", ""))
	assert.Equal(t, 403, code)
	list, err := ts.DevMeta.List()
	require.NoError(t, err)
	assert.Equal(t, []meta.Entry{{Key: "pantavisor.revision", Value: "locals/a"}, {Key: "pantavisor.status", Value: "READY"}}, list)

	code, _, _ = parsed(t, ts.do(t, "mgmt", "PUT", "/device-meta/mgmt.state", "fine"))
	assert.Equal(t, 200, code)
	code, _, _ = parsed(t, ts.do(t, "mgmt", "DELETE", "/device-meta/mgmt.state", ""))
	assert.Equal(t, 200, code)
}
