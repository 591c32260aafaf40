package drivers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/kmod"
	"pantavisor/lib/state"
)

var errRefused = errors.New("refused")

// fakeLoader records loads ("+mod params") and unloads ("-mod") and
// fails the modules in bad.
type fakeLoader struct {
	mu    sync.Mutex
	calls []string
	bad   map[string]bool
}

func (f *fakeLoader) Probe(mod, params string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.TrimSpace("+"+mod+" "+params))
	if f.bad[mod] {
		return kmod.ErrNotFound
	}
	return nil
}

func (f *fakeLoader) Unload(mod string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "-"+mod)
	if f.bad[mod] {
		return errRefused
	}
	return nil
}

// took returns the calls since the last took.
func (f *fakeLoader) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

var testAliases = []Alias{
	{"wifi", []string{"cfg80211", "brcmfmac alternative_fw_path=${user-meta:brcmfmac.fw} debug=1"}},
	{"bluetooth", []string{"hci_uart", "btbcm"}},
	{"usbnet", []string{"g_ether ${user-meta:usbnetmac}"}},
	{"usbncm", nil},
	{"broken", []string{"good", "missing", "other"}},
	{"badline", []string{"mod $HOME"}},
}

func newManager(bad ...string) (*Manager, *fakeLoader) {
	f := &fakeLoader{bad: map[string]bool{}}
	for _, b := range bad {
		f.bad[b] = true
	}
	meta := map[string]string{"brcmfmac.fw": "/lib/firmware/alt"}
	um := MetaFunc(func(k string) (string, bool) { v, ok := meta[k]; return v, ok })
	return &Manager{Aliases: testAliases, Loader: f, UserMeta: um}, f
}

func TestRequireLoadsInOrderWithUserMeta(t *testing.T) {
	m, f := newManager()
	require.NoError(t, m.Require("app", []string{"wifi", "usbnet", "bluetooth"}))
	assert.Equal(t, []string{
		"+cfg80211",
		"+brcmfmac alternative_fw_path=/lib/firmware/alt debug=1",
		"+g_ether", // missing key: substitutes nothing, as upstream
		"+hci_uart", "+btbcm",
	}, f.took())
	assert.Equal(t, []Status{{"wifi", Required, Loaded}, {"usbnet", Optional, Loaded}, {"nope", Manual, Unknown},
		{"usbncm", Manual, Unloaded}, {"bluetooth", Manual, Loaded}},
		m.List(state.Drivers{Required: []string{"wifi"}, Optional: []string{"usbnet"}, Manual: []string{"nope", "usbncm", "bluetooth"}}))
}

func TestRequireFailureNamesAliasAndModule(t *testing.T) {
	m, f := newManager("missing")
	err := m.Require("app", []string{"bluetooth", "broken", "wifi"})
	require.Error(t, err)
	assert.ErrorIs(t, err, kmod.ErrNotFound)
	assert.Contains(t, err.Error(), "required driver broken: module missing: ")
	assert.Equal(t, []string{"+hci_uart", "+btbcm", "+good", "+missing", "+other"}, f.took(),
		"the alias's other modules are tried, as upstream; the next alias is not")
	assert.Equal(t, []Status{{"broken", Required, Unloaded}, {"wifi", Required, Unloaded}},
		m.List(state.Drivers{Required: []string{"broken", "wifi"}}))
	assert.Empty(t, m.Holders("broken"))

	err = m.Require("app", []string{"nosuch"})
	assert.ErrorIs(t, err, ErrUnknownAlias)
	assert.EqualError(t, err, "required driver nosuch: alias not defined in bsp/drivers.json")

	err = m.Require("app", []string{"badline"})
	assert.ErrorIs(t, err, ErrBadLine)
	assert.Empty(t, f.took())
}

func TestOptionalOnlyWarns(t *testing.T) {
	m, f := newManager("brcmfmac")
	warns := m.Optional("app", []string{"wifi", "nosuch", "bluetooth", "usbncm"})
	require.Len(t, warns, 2)
	assert.Contains(t, warns[0].Error(), "optional driver wifi: module brcmfmac: ")
	assert.ErrorIs(t, warns[1], ErrUnknownAlias)
	assert.Equal(t, []string{"+cfg80211", "+brcmfmac alternative_fw_path=/lib/firmware/alt debug=1", "+hci_uart", "+btbcm"}, f.took())
	assert.Equal(t, []string{"app"}, m.Holders("bluetooth"))
	assert.Equal(t, []string{"app"}, m.Holders("usbncm"), "an empty alias loads nothing but is held")
	assert.Empty(t, m.Holders("wifi"))
}

func TestHoldsAndUnload(t *testing.T) {
	m, f := newManager()
	require.NoError(t, m.Require("a", []string{"bluetooth"}))
	require.NoError(t, m.Load("mgmt", "bluetooth"))
	require.NoError(t, m.Require("a", []string{"bluetooth"}), "a restart loads again")
	assert.Equal(t, []string{"a", "mgmt"}, m.Holders("bluetooth"))
	f.took()

	err := m.Unload("mgmt", "bluetooth")
	assert.ErrorIs(t, err, ErrInUse)
	assert.EqualError(t, err, "driver bluetooth: alias in use by a")
	assert.Empty(t, f.took(), "a running container still holds it")

	m.Release("a")
	assert.Empty(t, f.took(), "a stopped container's drivers stay loaded, as upstream")
	assert.Equal(t, []Status{{"bluetooth", Manual, Loaded}}, m.List(state.Drivers{Manual: []string{"bluetooth"}}))

	require.NoError(t, m.Unload("mgmt", "bluetooth"))
	assert.Equal(t, []string{"-btbcm", "-hci_uart"}, f.took(), "reverse order")
	assert.Equal(t, []Status{{"bluetooth", Manual, Unloaded}}, m.List(state.Drivers{Manual: []string{"bluetooth"}}))
	require.NoError(t, m.Unload("mgmt", "bluetooth"))
	assert.Empty(t, f.took(), "not loaded: nothing to do")
	assert.ErrorIs(t, m.Unload("mgmt", "nosuch"), ErrUnknownAlias)
}

func TestUnloadFailureKeepsLoaded(t *testing.T) {
	m, f := newManager()
	require.NoError(t, m.Load("mgmt", "bluetooth"))
	f.bad["btbcm"] = true
	f.took()
	err := m.Unload("mgmt", "bluetooth")
	assert.ErrorIs(t, err, errRefused)
	assert.Contains(t, err.Error(), "driver bluetooth: module btbcm: refused")
	assert.Equal(t, []string{"-btbcm", "-hci_uart"}, f.took(), "keeps on after a failure")
	assert.Equal(t, []Status{{"bluetooth", Manual, Loaded}}, m.List(state.Drivers{Manual: []string{"bluetooth"}}))
}

func TestExpand(t *testing.T) {
	um := MetaFunc(func(k string) (string, bool) {
		v, ok := map[string]string{"k": "v", "mac": "02:00:00:00:00:01", "empty": ""}[k]
		return v, ok
	})
	for _, tc := range []struct{ in, want, err string }{
		{"plain args=1", "plain args=1", ""},
		{"m a=${user-meta:k}", "m a=v", ""},
		{"m host_addr=${user-meta:mac} x=${user-meta:k}${user-meta:k}", "m host_addr=02:00:00:00:00:01 x=vv", ""},
		{"m a=${user-meta:missing} b=1", "m a= b=1", ""},
		{"m a=${user-meta:empty}", "m a=", ""},
		{"m a=$k", "", "'$' without '{'"},
		{"m a=$", "", "'$' without '{'"},
		{"m a=${user-meta:k", "", "unterminated ${"},
		{"m a=${device-meta:k}", "", "want ${user-meta:KEY}, got ${device-meta:k}"},
		{"m a=${user-meta:}", "", "want ${user-meta:KEY}"},
		{"m a=${k}", "", "want ${user-meta:KEY}"},
	} {
		got, err := Expand(tc.in, um)
		if tc.err != "" {
			assert.ErrorIs(t, err, ErrBadLine, tc.in)
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	got, err := Expand("m a=${user-meta:k}", nil)
	require.NoError(t, err)
	assert.Equal(t, "m a=", got, "no user-meta: every key is missing")
}

func TestKindAndLoadNames(t *testing.T) {
	for k, want := range map[Kind]string{Required: "REQUIRED", Optional: "OPTIONAL", Manual: "MANUAL", 0: "UNKNOWN", 9: "UNKNOWN"} {
		assert.Equal(t, want, k.String())
	}
	for l, want := range map[Load]string{Unknown: "UNKNOWN", Unloaded: "UNLOADED", Loaded: "LOADED", 9: "UNKNOWN"} {
		assert.Equal(t, want, l.String())
	}
}

func TestAppendJSON(t *testing.T) {
	assert.Equal(t, "{}", string(AppendJSON(nil, nil)))
	assert.Equal(t, `[{"name":"wifi","type":"REQUIRED","status":"LOADED"},{"name":"a\"b","type":"MANUAL","status":"UNKNOWN"}]`,
		string(AppendJSON(nil, []Status{{"wifi", Required, Loaded}, {`a"b`, Manual, Unknown}})))
	var nilm *Manager
	assert.Equal(t, []Status{{"x", Optional, Unknown}}, nilm.List(state.Drivers{Optional: []string{"x"}}))
}

func TestResolveAndCheck(t *testing.T) {
	st, err := state.Parse([]byte(`{"#spec":"pantavisor-service-system@1",
		"bsp/drivers.json":{"#spec":"driver-aliases@1","all":{"wifi":["a"],"bt":["b"]},
			"fitconfig:board":{"wifi":["c"],"extra":["d"]},"fitconfig:other":{"x":["y"]},"dtb:all":{"z":["z"]}},
		"app/lxc.container.conf":"`+strings.Repeat("1", 64)+`",
		"app/run.json":{"name":"app","type":"lxc","config":"lxc.container.conf",
			"drivers":{"required":["wifi"],"optional":["usbnet","bt"],"manual":["x"]}}}`),
		state.Options{FitConfig: "board"})
	require.NoError(t, err)
	assert.Equal(t, []Alias{{"wifi", []string{"c"}}, {"bt", []string{"b"}}, {"extra", []string{"d"}}}, Resolve(st.Drivers),
		"the selected fitconfig section overrides all; other sections are ignored")
	assert.Equal(t, []string{
		"app/run.json: drivers.optional: alias usbnet is not defined in bsp/drivers.json",
		"app/run.json: drivers.manual: alias x is not defined in bsp/drivers.json",
	}, Check(st))
}

// TestFailureNamesModuleOnce: a module line kmod.Loader cannot find
// fails with the module named once (kmod's error names it already); an
// error that does not name it gets the prefix.
func TestFailureNamesModuleOnce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte("kernel/a.ko:\n"), 0o644))
	m := &Manager{Aliases: []Alias{{"bad", []string{"nosuchmod"}}}, Loader: &kmod.Loader{Dir: dir,
		Load: func(string, string) error { return errRefused }}}
	err := m.Require("app", []string{"bad"})
	assert.ErrorIs(t, err, kmod.ErrNotFound)
	assert.EqualError(t, err, "required driver bad: module nosuchmod: module not found")

	for _, tc := range []struct{ err, want string }{
		{"module x: module not found", "module x: module not found"},
		{"module x needs kernel/y.ko: module not found", "module x needs kernel/y.ko: module not found"},
		{"module xy: module not found", "module x: module xy: module not found"},
		{"finit_module /lib/modules/r/x.ko: operation not permitted", "module x: finit_module /lib/modules/r/x.ko: operation not permitted"},
		{"refused", "module x: refused"},
	} {
		cause := errors.New(tc.err)
		got := namedModule("x", cause)
		assert.EqualError(t, got, tc.want)
		assert.ErrorIs(t, got, cause)
	}
}
