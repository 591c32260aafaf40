package device

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/drivers"
	"pantavisor/lib/engine"
	"pantavisor/lib/launch"
	"pantavisor/lib/state"
)

// modLoader is a drivers.Loader recording loads and failing missing.
type modLoader struct{ calls []string }

func (l *modLoader) Probe(mod, params string) error {
	l.calls = append(l.calls, strings.TrimSpace(mod+" "+params))
	if mod == "missing" {
		return errors.New("module not found")
	}
	return nil
}
func (l *modLoader) Unload(mod string) error { l.calls = append(l.calls, "-"+mod); return nil }

// fakeUnit is an engine.Unit that counts Close.
type fakeUnit struct{ closed *int }

func (fakeUnit) Wait() int                       { return 0 }
func (fakeUnit) Stop(time.Duration) (int, error) { return 0, nil }
func (u fakeUnit) Close() error                  { *u.closed++; return nil }

// TestRunnerDrivers checks the launcher seam: a container's required and
// optional aliases are loaded before it starts, a required failure fails
// the start naming the module before anything is launched, an optional
// one is only logged, and closing the unit releases the holds.
func TestRunnerDrivers(t *testing.T) {
	const sha = "1111111111111111111111111111111111111111111111111111111111111111"
	st, err := state.Parse([]byte(`{"#spec":"pantavisor-service-system@1",
		"bsp/drivers.json":{"#spec":"driver-aliases@1","all":{"net":["dummy numdummies=${user-meta:n}"],
			"wifi":["cfg80211","missing"],"bt":["hci_uart"]}},
		"app/lxc.container.conf":"`+sha+`","app/run.json":{"name":"app","type":"lxc","config":"lxc.container.conf",
			"drivers":{"required":["net"],"optional":["wifi","usbnet","bt"],"manual":["bt"]}},
		"bad/lxc.container.conf":"`+sha+`","bad/run.json":{"name":"bad","type":"lxc","config":"lxc.container.conf",
			"drivers":{"required":["net","wifi"]}}}`), state.Options{})
	require.NoError(t, err)
	l := &modLoader{}
	var logged []string
	d := &Device{cur: st, o: Options{Drivers: l}}
	d.drv = &drivers.Manager{Aliases: drivers.Resolve(st.Drivers), Loader: l,
		UserMeta: drivers.MetaFunc(func(k string) (string, bool) { return map[string]string{"n": "2"}[k], k == "n" })}
	r := runner{rev: &launch.Revision{State: st}, drv: d.drv, log: func(_ engine.Level, m string) { logged = append(logged, m) }}

	require.NoError(t, r.startDrivers(st.Container("app")))
	assert.Equal(t, []string{"dummy numdummies=2", "cfg80211", "missing", "hci_uart"}, l.calls)
	assert.Equal(t, []string{
		"container app: optional driver wifi: module missing: module not found",
		"container app: optional driver usbnet: alias not defined in bsp/drivers.json",
	}, logged)
	assert.Equal(t, []string{"app"}, d.drv.Holders("net"))

	closed := 0
	u := releasedUnit{Unit: fakeUnit{&closed}, release: func() { d.drv.Release("app") }}
	require.NoError(t, u.Close())
	assert.Equal(t, 1, closed)
	assert.Empty(t, d.drv.Holders("net"), "released when the container is closed")
	assert.Equal(t, []drivers.Status{{Name: "net", Kind: drivers.Required, State: drivers.Loaded}},
		d.drv.List(state.Drivers{Required: []string{"net"}}), "modules stay loaded, as upstream")

	l.calls = nil
	_, err = r.Start("bad") // fails before launch: the revision has no storage to launch from
	require.Error(t, err)
	assert.EqualError(t, err, "required driver wifi: module missing: module not found")
	assert.Equal(t, []string{"dummy numdummies=2", "cfg80211", "missing"}, l.calls)
	assert.Empty(t, d.drv.Holders("net"), "a failed start holds nothing")

	assert.NoError(t, (&runner{}).startDrivers(st.Container("app")), "no manager: nothing loaded")

	assert.Equal(t, []string{"app/run.json: drivers.optional: alias usbnet is not defined in bsp/drivers.json"},
		drivers.Check(st))
}
