package ipam

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/lxcconf"
	"pantavisor/lib/state"
)

const sha = "1111111111111111111111111111111111111111111111111111111111111111"

// stateWith is a state with device.json network netJSON and one container
// per run.json network (name c0, c1, ...).
func stateWith(t *testing.T, netJSON string, nets ...string) *state.State {
	t.Helper()
	s := `{"#spec":"pantavisor-service-system@1"`
	if netJSON != "" {
		s += `,"device.json":{"groups":[{"name":"root"}],"network":` + netJSON + `}`
	}
	for i, n := range nets {
		c := "c" + string(rune('0'+i))
		s += `,"` + c + `/lxc.container.conf":"` + sha + `","` + c + `/run.json":{"name":"` + c +
			`","type":"lxc","config":"lxc.container.conf","group":"root","network":` + n + `}`
	}
	st, err := state.Parse([]byte(s+"}"), state.Options{})
	require.NoError(t, err)
	return st
}

func TestCheck(t *testing.T) {
	const pools = `{"pools":{"internal":{"bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.5.1"},
		"tiny":{"bridge":"pvbr1","subnet":"10.0.9.0/30","gateway":"10.0.9.1"}}}`
	for _, tc := range []struct {
		name string
		net  string
		nets []string
		cfgs map[string]string
		key  string // "" when accepted
		msg  string
	}{
		{"no network", "", []string{`{"mode":"host"}`}, nil, "", ""},
		{"pools and users", pools, []string{`{"pool":"internal"}`, `{"pool":"internal","ip":"10.0.5.7"}`, `{"mode":"none"}`}, nil, "", ""},
		{"bad pool", `{"pools":{"internal":{"bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.6.1"}}}`, nil, nil,
			"device.json", "network.pools.internal.gateway: 10.0.6.1 is outside 10.0.5.0/24"},
		{"unknown pool", pools, []string{`{"pool":"nope"}`}, nil, "c0/run.json", `network: ipam: pool "nope": not in device.json network.pools`},
		{"no pools at all", "", []string{`{"pool":"internal"}`}, nil, "c0/run.json", `network: ipam: pool "internal": not in device.json network.pools`},
		{"static outside", pools, []string{`{"pool":"internal","ip":"10.0.6.7"}`}, nil, "c0/run.json", `network: ipam: pool "internal": 10.0.6.7 is outside 10.0.5.0/24`},
		{"static collision", pools, []string{`{"pool":"internal","ip":"10.0.5.7"}`, `{"pool":"internal","interfaces":[{"ipv4_address":"10.0.5.7/24"}]}`}, nil,
			"c1/run.json", `network: ipam: pool "internal": 10.0.5.7 is in use by container "c0"`},
		{"exhausted", pools, []string{`{"pool":"tiny"}`, `{"pool":"tiny"}`}, nil, "c1/run.json", `network: ipam: pool "tiny": no free address in 10.0.9.0/30`},
		{"lxc net on pool", pools, []string{`{"pool":"internal"}`}, map[string]string{"c0": "lxc.net.0.type = veth\n"},
			"c0/run.json", "network: ipam: lxc.net.0.* is set"},
		{"lxc net without pool", pools, []string{`{"mode":"host"}`}, map[string]string{"c0": "lxc.net.0.type = veth\n"}, "", ""},
		{"hard-coded address reserved", pools, []string{`{"mode":"none"}`, `{"pool":"internal","ip":"10.0.5.3"}`},
			map[string]string{"c0": "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.5.3/24\n"},
			"c1/run.json", `network: ipam: pool "internal": 10.0.5.3 is in use by pv:static:c0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs := map[string]*lxcconf.Config{}
			for c, text := range tc.cfgs {
				cfgs[c] = lxc(t, text)
			}
			r, err := Check(stateWith(t, tc.net, tc.nets...), cfgs)
			if tc.key == "" {
				require.NoError(t, err)
				require.NotNil(t, r)
				return
			}
			var se *state.Error
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, tc.key, se.Key)
			assert.True(t, strings.HasPrefix(se.Reason, tc.msg), "%v", err)
		})
	}
}
