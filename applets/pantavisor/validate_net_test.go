package pantavisor

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidateNetworkErrors: a bad pool, an unknown pool or an address
// conflict makes the state invalid: no summary, one ERROR line.
func TestValidateNetworkErrors(t *testing.T) {
	const pools = `,"network":{"pools":{"internal":{"type":"bridge","bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.5.1"}}}`
	state := func(dev string, nets ...string) string {
		s := `{"#spec":"pantavisor-service-system@1","device.json":{"groups":[{"name":"root"}]` + dev + `}`
		for i, n := range nets {
			c := string(rune('a' + i))
			s += `,"` + c + `/run.json":{"name":"` + c + `","group":"root","network":` + n + `}`
		}
		return s + "}"
	}
	for _, tc := range []struct{ name, data, stderr string }{
		{"gateway outside", state(`,"network":{"pools":{"internal":{"bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.6.1"}}}`),
			"ERROR: device.json: network.pools.internal.gateway: 10.0.6.1 is outside 10.0.5.0/24\n"},
		{"unknown type", state(`,"network":{"pools":{"x":{"type":"vlan","subnet":"10.0.5.0/24","gateway":"10.0.5.1"}}}`),
			`ERROR: device.json: network.pools.x.type: unknown pool type "vlan", want "bridge" or "macvlan"` + "\n"},
		{"unknown pool", state(pools, `{"pool":"nope"}`),
			`ERROR: a/run.json: network: ipam: pool "nope": not in device.json network.pools` + "\n"},
		{"no pools", state(``, `{"mode":"pool","pool":"internal"}`),
			`ERROR: a/run.json: network: ipam: pool "internal": not in device.json network.pools` + "\n"},
		{"static collision", state(pools, `{"pool":"internal","ip":"10.0.5.9"}`, `{"pool":"internal","ip":"10.0.5.9/24"}`),
			`ERROR: b/run.json: network: ipam: pool "internal": 10.0.5.9 is in use by container "a"` + "\n"},
		{"static gateway", state(pools, `{"pool":"internal","ip":"10.0.5.1"}`),
			`ERROR: a/run.json: network: ipam: pool "internal": 10.0.5.1 is in use by the gateway` + "\n"},
		{"bad mac", state(pools, `{"pool":"internal","mac":"02:00:0a:00:05"}`),
			`ERROR: a/run.json: network.mac: want a unicast MAC like 02:00:0a:00:05:02, got "02:00:0a:00:05"` + "\n"},
		{"bad address", state(pools, `{"pool":"internal","interfaces":[{"ipv4_address":"10.0.5.300"}]}`),
			`ERROR: a/run.json: network.interfaces[0].ipv4_address: want an IPv4 address or CIDR, got "10.0.5.300"` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := validateRun(writeTemp(t, "s.json", []byte(tc.data)))
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Equal(t, tc.stderr, errs)
		})
	}
}

// TestValidateNetworkLXC: with objects at hand, a pool container whose LXC
// config sets lxc.net.* is refused, and an address another config
// hard-codes is kept from the pool.
func TestValidateNetworkLXC(t *testing.T) {
	const pools = `"device.json":{"groups":[{"name":"root"}],"network":{"pools":{"internal":{"bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.5.1"}}}}`
	for _, tc := range []struct{ name, conf, net, stderr string }{
		{"lxc.net on a pool container", "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\n", `{"pool":"internal"}`,
			"ERROR: a/run.json: network: ipam: lxc.net.0.* is set: a container on a pool must not set lxc.net.* in its LXC config (remove the lxc.net keys or the pool)\n"},
		{"lxc.net without a pool", "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.5.2/24\n", `{"mode":"none"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := sha256.Sum256([]byte(tc.conf))
			sha := hex.EncodeToString(sum[:])
			json := `{"#spec":"pantavisor-service-system@1",` + pools + `,"a/lxc.container.conf":"` + sha +
				`","a/run.json":{"name":"a","group":"root","config":"lxc.container.conf","network":` + tc.net + `},` +
				`"b/run.json":{"name":"b","group":"root","network":{"pool":"internal","ip":"10.0.5.2"}}}`
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "objects"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "objects", sha), []byte(tc.conf), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "json"), []byte(json), 0o644))
			code, out, errs := validateRun(dir)
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			if tc.stderr == "" {
				tc.stderr = `ERROR: b/run.json: network: ipam: pool "internal": 10.0.5.2 is in use by pv:static:a` + "\n"
			}
			assert.Equal(t, tc.stderr, errs)
		})
	}
}
