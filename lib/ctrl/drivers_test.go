package ctrl

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/drivers"
)

// driverLoader is a drivers.Loader that records "+mod" and "-mod" and
// fails the modules in bad.
type driverLoader struct {
	mu    sync.Mutex
	calls []string
	bad   map[string]bool
}

func (l *driverLoader) Probe(mod, _ string) error { return l.call("+", mod) }
func (l *driverLoader) Unload(mod string) error   { return l.call("-", mod) }
func (l *driverLoader) recorded() []string        { l.mu.Lock(); defer l.mu.Unlock(); return l.calls }
func (l *driverLoader) call(op, mod string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, op+mod)
	if l.bad[mod] {
		return errors.New("refused")
	}
	return nil
}

// TestDriversRoutes drives the /drivers routes with a manager whose
// aliases match the test state's "drv" container (required wifi, optional
// usb, manual bt): status, exact body and the modules touched.
func TestDriversRoutes(t *testing.T) {
	cases := []struct {
		name, caller, method, target string
		bad                          string // a module that fails
		before                       func(m *drivers.Manager)
		status                       int
		body                         string
		calls                        []string
	}{
		{name: "list", caller: "drv", method: "GET", target: "/drivers", status: 200,
			body: `[{"name":"wifi","type":"REQUIRED","status":"UNLOADED"},{"name":"usb","type":"OPTIONAL","status":"UNLOADED"},` +
				`{"name":"bt","type":"MANUAL","status":"UNLOADED"}]`},
		{name: "list loaded", caller: "drv", method: "GET", target: "/drivers", status: 200,
			before: func(m *drivers.Manager) { _ = m.Require("drv", []string{"wifi"}); _ = m.Load("drv", "bt") },
			body: `[{"name":"wifi","type":"REQUIRED","status":"LOADED"},{"name":"usb","type":"OPTIONAL","status":"UNLOADED"},` +
				`{"name":"bt","type":"MANUAL","status":"LOADED"}]`,
			calls: []string{"+cfg80211", "+brcmfmac", "+hci_uart", "+btbcm"}},
		{name: "list _pv_", method: "GET", target: "/drivers", status: 200, body: `{}`},
		{name: "list no drivers", caller: "mgmt", method: "GET", target: "/drivers", status: 200, body: `{}`},
		{name: "list not mgmt", caller: "plain", method: "GET", target: "/drivers", status: 403,
			body: errorBody("Request not sent from a mgmt platform")},
		{name: "load not mgmt", caller: "plain", method: "PUT", target: "/drivers/bt/load", status: 403,
			body: errorBody("Request not sent from mgmt platform")},
		{name: "bulk load not mgmt", caller: "plain", method: "PUT", target: "/drivers/load", status: 403,
			body: errorBody("Request not sent from a mgmt platform")},
		{name: "load", caller: "drv", method: "PUT", target: "/drivers/bt/load", status: 200, calls: []string{"+hci_uart", "+btbcm"}},
		{name: "load fails", caller: "drv", method: "PUT", target: "/drivers/bt/load", bad: "btbcm", status: 400,
			body: errorBody("Error loading driver"), calls: []string{"+hci_uart", "+btbcm"}},
		{name: "load not manual", caller: "drv", method: "PUT", target: "/drivers/wifi/load", status: 400,
			body: errorBody("Error loading driver")},
		{name: "load bad alias", caller: "drv", method: "PUT", target: "/drivers/nosuch/load", status: 400,
			body: errorBody("Error loading driver")},
		{name: "load no name", caller: "drv", method: "PUT", target: "/drivers/load/load", status: 400,
			body: errorBody("No driver name")},
		{name: "unload no name", caller: "drv", method: "PUT", target: "/drivers/unload/unload", status: 400,
			body: errorBody("No driver name")},
		{name: "load _pv_", method: "PUT", target: "/drivers/bt/load", status: 400, body: errorBody("Error loading driver")},
		{name: "bulk load", caller: "drv", method: "PUT", target: "/drivers/load", status: 200, calls: []string{"+hci_uart", "+btbcm"}},
		{name: "bulk load fails", caller: "drv", method: "PUT", target: "/drivers/load", bad: "hci_uart", status: 400,
			body: errorBody("Error loading drivers"), calls: []string{"+hci_uart", "+btbcm"}},
		{name: "bulk load none", caller: "mgmt", method: "PUT", target: "/drivers/load", status: 200},
		{name: "unload", caller: "drv", method: "PUT", target: "/drivers/bt/unload", status: 200,
			before: func(m *drivers.Manager) { _ = m.Load("drv", "bt") },
			calls:  []string{"+hci_uart", "+btbcm", "-btbcm", "-hci_uart"}},
		{name: "unload held by another", caller: "drv", method: "PUT", target: "/drivers/bt/unload", status: 200,
			before: func(m *drivers.Manager) { _ = m.Load("drv", "bt"); _ = m.Require("other", []string{"bt"}) },
			calls:  []string{"+hci_uart", "+btbcm", "+hci_uart", "+btbcm"}},
		{name: "unload fails", caller: "drv", method: "PUT", target: "/drivers/bt/unload", bad: "btbcm", status: 200,
			before: func(m *drivers.Manager) { _ = m.Require("drv", []string{"bt"}); m.Release("drv") },
			calls:  []string{"+hci_uart", "+btbcm", "-btbcm", "-hci_uart"}},
		{name: "unload not manual", caller: "drv", method: "PUT", target: "/drivers/wifi/unload", status: 200,
			before: func(m *drivers.Manager) { _ = m.Require("drv", []string{"wifi"}); m.Release("drv") },
			calls:  []string{"+cfg80211", "+brcmfmac"}},
		{name: "bulk unload", caller: "drv", method: "PUT", target: "/drivers/unload", status: 200,
			before: func(m *drivers.Manager) { _ = m.Load("drv", "bt") },
			calls:  []string{"+hci_uart", "+btbcm", "-btbcm", "-hci_uart"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &driverLoader{bad: map[string]bool{}}
			m := &drivers.Manager{Loader: l, Aliases: []drivers.Alias{
				{Name: "wifi", Modules: []string{"cfg80211", "brcmfmac"}},
				{Name: "usb", Modules: []string{"g_ether"}},
				{Name: "bt", Modules: []string{"hci_uart", "btbcm"}},
			}}
			if c.before != nil {
				c.before(m)
			}
			l.bad[c.bad] = c.bad != ""
			ts := newTestServer(t, func(ts *testServer) { ts.Drivers = m })
			code, head, body := parsed(t, ts.do(t, c.caller, c.method, c.target, ""))
			assert.Equal(t, c.status, code)
			assert.Equal(t, c.body, body)
			assert.Equal(t, "application/json", header(head, "Content-Type"))
			assert.Equal(t, c.calls, l.recorded())
		})
	}
}

// TestDriversBulkLoadThenList checks that a bulk load shows in GET.
func TestDriversBulkLoadThenList(t *testing.T) {
	l := &driverLoader{}
	m := &drivers.Manager{Loader: l, Aliases: []drivers.Alias{{Name: "bt", Modules: []string{"hci_uart"}}}}
	ts := newTestServer(t, func(ts *testServer) { ts.Drivers = m })
	code, _, _ := parsed(t, ts.do(t, "drv", "PUT", "/drivers/load", ""))
	require.Equal(t, 200, code)
	_, _, body := parsed(t, ts.do(t, "drv", "GET", "/drivers", ""))
	assert.Equal(t, `[{"name":"wifi","type":"REQUIRED","status":"UNKNOWN"},{"name":"usb","type":"OPTIONAL","status":"UNKNOWN"},`+
		`{"name":"bt","type":"MANUAL","status":"LOADED"}]`, body)
	assert.Equal(t, []string{"drv"}, m.Holders("bt"))
}
