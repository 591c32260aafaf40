package ipam

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ip4"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

func parse(t testing.TB, s string) rawjson.Value {
	t.Helper()
	v, err := rawjson.Parse([]byte(s))
	require.NoError(t, err, s)
	return v
}

const upstreamPools = `{"pools":{
 "internal":{"type":"bridge","bridge":"pvbr0","subnet":"10.0.5.0/24","gateway":"10.0.5.1","nat":true},
 "lab":{"type":"bridge","bridge":"pvbr1","subnet":"10.0.6.0/24","gateway":"10.0.6.1","nat":false}}}`

func TestParsePoolsUpstreamExample(t *testing.T) {
	pools, err := ParsePools(parse(t, upstreamPools))
	require.NoError(t, err)
	assert.Equal(t, []Pool{
		{Name: "internal", Type: TypeBridge, Bridge: "pvbr0", Subnet: ip4.MustParsePrefix("10.0.5.0/24"),
			Gateway: ip4.MustParseAddr("10.0.5.1"), NAT: true},
		{Name: "lab", Type: TypeBridge, Bridge: "pvbr1", Subnet: ip4.MustParsePrefix("10.0.6.0/24"),
			Gateway: ip4.MustParseAddr("10.0.6.1")},
	}, pools)
}

func TestParsePoolsAccepted(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Pool
	}{
		{"absent", ``, nil},
		{"null", `null`, nil},
		{"no pools", `{}`, nil},
		{"null pools", `{"pools":null}`, nil},
		{"empty pools", `{"pools":{}}`, nil},
		{"type defaults to bridge", `{"pools":{"p":{"bridge":"br","subnet":"10.1.0.0/16","gateway":"10.1.255.254"}}}`,
			[]Pool{{Name: "p", Type: TypeBridge, Bridge: "br", Subnet: ip4.MustParsePrefix("10.1.0.0/16"), Gateway: ip4.MustParseAddr("10.1.255.254")}}},
		{"macvlan", `{"pools":{"m":{"type":"macvlan","parent":"eth0","subnet":"192.168.1.0/24","gateway":"192.168.1.254","nat":"false"}}}`,
			[]Pool{{Name: "m", Type: TypeMacvlan, Parent: "eth0", Subnet: ip4.MustParsePrefix("192.168.1.0/24"), Gateway: ip4.MustParseAddr("192.168.1.254")}}},
		{"subnet with host bits is masked", `{"pools":{"p":{"bridge":"br","subnet":"10.0.5.9/24","gateway":"10.0.5.1","nat":"true"}}}`,
			[]Pool{{Name: "p", Type: TypeBridge, Bridge: "br", Subnet: ip4.MustParsePrefix("10.0.5.0/24"), Gateway: ip4.MustParseAddr("10.0.5.1"), NAT: true}}},
		{"slash 30", `{"pools":{"p":{"bridge":"br","subnet":"10.0.0.0/30","gateway":"10.0.0.1"}}}`,
			[]Pool{{Name: "p", Type: TypeBridge, Bridge: "br", Subnet: ip4.MustParsePrefix("10.0.0.0/30"), Gateway: ip4.MustParseAddr("10.0.0.1")}}},
		{"order kept", `{"pools":{"z":{"bridge":"a","subnet":"10.0.0.0/24","gateway":"10.0.0.1"},"a":{"bridge":"b","subnet":"10.0.1.0/24","gateway":"10.0.1.1"}}}`,
			[]Pool{{Name: "z", Type: TypeBridge, Bridge: "a", Subnet: ip4.MustParsePrefix("10.0.0.0/24"), Gateway: ip4.MustParseAddr("10.0.0.1")},
				{Name: "a", Type: TypeBridge, Bridge: "b", Subnet: ip4.MustParsePrefix("10.0.1.0/24"), Gateway: ip4.MustParseAddr("10.0.1.1")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v rawjson.Value
			if tc.in != "" {
				v = parse(t, tc.in)
			}
			pools, err := ParsePools(v)
			require.NoError(t, err)
			assert.Equal(t, tc.want, pools)
		})
	}
}

// TestParsePoolsErrors: each bad pool is refused with a device.json
// *state.Error naming the pool and member.
func TestParsePoolsErrors(t *testing.T) {
	pool := func(members string) string { return `{"pools":{"internal":{` + members + `}}}` }
	const ok = `"bridge":"pvbr0","subnet":"10.0.5.0/24"`
	for _, tc := range []struct{ name, in, msg string }{
		{"network not object", `[]`, "network: want an object, got array"},
		{"pools not object", `{"pools":[]}`, "network.pools: want an object, got array"},
		{"pool not object", `{"pools":{"internal":"pvbr0"}}`, "network.pools.internal: want an object, got string"},
		{"empty name", `{"pools":{"":{}}}`, "network.pools: empty pool name"},
		{"duplicate", `{"pools":{"a":{"bridge":"b","subnet":"10.0.0.0/24","gateway":"10.0.0.1"},"a":{}}}`, "network.pools.a: duplicate pool"},
		{"unknown type", pool(`"type":"vxlan"`), `network.pools.internal.type: unknown pool type "vxlan", want "bridge" or "macvlan"`},
		{"type not string", pool(`"type":1`), "network.pools.internal.type: want a string, got number"},
		{"bridge missing", pool(`"subnet":"10.0.5.0/24","gateway":"10.0.5.1"`), `network.pools.internal.bridge: missing for type "bridge"`},
		{"bridge name bad", pool(`"bridge":"a/b","subnet":"10.0.5.0/24","gateway":"10.0.5.1"`), `network.pools.internal.bridge: invalid interface name "a/b"`},
		{"bridge name long", pool(`"bridge":"pvbr0123456789ab","subnet":"10.0.5.0/24","gateway":"10.0.5.1"`), `network.pools.internal.bridge: invalid interface name`},
		{"parent missing", pool(`"type":"macvlan","bridge":"br","subnet":"10.0.5.0/24","gateway":"10.0.5.1"`), `network.pools.internal.parent: missing for type "macvlan"`},
		{"subnet missing", pool(`"bridge":"pvbr0","gateway":"10.0.5.1"`), "network.pools.internal.subnet: missing"},
		{"subnet bare", pool(`"bridge":"pvbr0","subnet":"10.0.5.0","gateway":"10.0.5.1"`), `network.pools.internal.subnet: want an IPv4 CIDR like 10.0.5.0/24, got "10.0.5.0"`},
		{"subnet v6", pool(`"bridge":"pvbr0","subnet":"fd00::/64","gateway":"fd00::1"`), `network.pools.internal.subnet: want an IPv4 CIDR`},
		{"subnet /31", pool(`"bridge":"pvbr0","subnet":"10.0.5.0/31","gateway":"10.0.5.1"`), "network.pools.internal.subnet: 10.0.5.0/31 leaves no address for a container"},
		{"subnet /32", pool(`"bridge":"pvbr0","subnet":"10.0.5.1/32","gateway":"10.0.5.1"`), "network.pools.internal.subnet: 10.0.5.1/32 leaves no address"},
		{"gateway missing", pool(ok), "network.pools.internal.gateway: missing"},
		{"gateway bad", pool(ok + `,"gateway":"10.0.5"`), `network.pools.internal.gateway: want an IPv4 address, got "10.0.5"`},
		{"gateway cidr", pool(ok + `,"gateway":"10.0.5.1/24"`), `network.pools.internal.gateway: want an IPv4 address, got "10.0.5.1/24"`},
		{"gateway outside", pool(ok + `,"gateway":"10.0.6.1"`), "network.pools.internal.gateway: 10.0.6.1 is outside 10.0.5.0/24"},
		{"gateway network", pool(ok + `,"gateway":"10.0.5.0"`), "network.pools.internal.gateway: 10.0.5.0 is the network address of 10.0.5.0/24"},
		{"gateway broadcast", pool(ok + `,"gateway":"10.0.5.255"`), "network.pools.internal.gateway: 10.0.5.255 is the broadcast address of 10.0.5.0/24"},
		{"nat number", pool(ok + `,"gateway":"10.0.5.1","nat":1`), "network.pools.internal.nat: want true or false, got 1"},
		{"nat word", pool(ok + `,"gateway":"10.0.5.1","nat":"yes"`), `network.pools.internal.nat: want true or false, got "yes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePools(parse(t, tc.in))
			var se *state.Error
			require.True(t, errors.As(err, &se), "error %v is a *state.Error", err)
			assert.Equal(t, "device.json", se.Key)
			assert.True(t, strings.HasPrefix(err.Error(), "device.json: "+tc.msg), "%v", err)
		})
	}
}

func TestBroadcast(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.5.0/24": "10.0.5.255", "10.0.0.0/30": "10.0.0.3", "10.0.0.0/8": "10.255.255.255",
		"0.0.0.0/0": "255.255.255.255", "192.168.1.128/25": "192.168.1.255",
	} {
		assert.Equal(t, want, (&Pool{Subnet: ip4.MustParsePrefix(in)}).Broadcast().String(), in)
	}
}

// FuzzParsePools: no panics; either an error or pools whose every
// gateway is a host address of its subnet and whose interface matches
// the type.
func FuzzParsePools(f *testing.F) {
	f.Add([]byte(upstreamPools))
	f.Add([]byte(`{"pools":{"m":{"type":"macvlan","parent":"eth0","subnet":"10.0.0.0/30","gateway":"10.0.0.2","nat":"true"}}}`))
	f.Add([]byte(`{"pools":{"p":{"bridge":"b","subnet":"10.0.5.9/24","gateway":"10.0.5.255"}}}`))
	f.Add([]byte(`{"pools":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := rawjson.Parse(data)
		if err != nil {
			return
		}
		pools, err := ParsePools(v)
		if err != nil {
			var se *state.Error
			require.True(t, errors.As(err, &se), "%v", err)
			return
		}
		for _, p := range pools {
			require.True(t, p.Subnet.IsValid() && p.Subnet == p.Subnet.Masked(), "%+v", p)
			require.True(t, p.Subnet.Contains(p.Gateway), "%+v", p)
			require.NotEqual(t, p.Subnet.Addr(), p.Gateway, "%+v", p)
			require.NotEqual(t, p.Broadcast(), p.Gateway, "%+v", p)
			require.True(t, (p.Type == TypeBridge && p.Bridge != "") || (p.Type == TypeMacvlan && p.Parent != ""), "%+v", p)
			// A fresh registry can always give one address.
			_, err := New([]Pool{p}).Allocate("c", []Request{{Pool: p.Name}})
			require.NoError(t, err, "%+v", p)
		}
	})
}
