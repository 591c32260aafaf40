package state

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ip4"
)

// TestNetworkParse: each accepted "network" object and what it reads as,
// including the effective interfaces.
func TestNetworkParse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		want   *Network
		ifaces []Interface
	}{
		{"absent", ``, nil, nil},
		{"host", `{"mode":"host"}`, &Network{Mode: NetHost}, nil},
		{"none", `{"mode":"none","hostname":"h"}`, &Network{Mode: NetNone, Hostname: "h"}, nil},
		{"empty object", `{}`, &Network{}, nil},
		{"pool", `{"mode":"pool","pool":"internal","hostname":"h"}`, &Network{Mode: NetPool, Pool: "internal", Hostname: "h"},
			[]Interface{{Name: "eth0", Pool: "internal"}}},
		{"pool implies mode", `{"pool":"internal"}`, &Network{Mode: NetPool, Pool: "internal"},
			[]Interface{{Name: "eth0", Pool: "internal"}}},
		{"top-level ip and mac", `{"mode":"pool","pool":"p","ip":"10.0.5.7","mac":"02:00:0A:00:05:07"}`,
			&Network{Mode: NetPool, Pool: "p", IP: "10.0.5.7", MAC: "02:00:0A:00:05:07"},
			[]Interface{{Name: "eth0", Pool: "p", IPv4Address: "10.0.5.7", MACAddress: "02:00:0A:00:05:07"}}},
		{"cidr ip", `{"pool":"p","ip":"10.0.5.7/24"}`, &Network{Mode: NetPool, Pool: "p", IP: "10.0.5.7/24"},
			[]Interface{{Name: "eth0", Pool: "p", IPv4Address: "10.0.5.7/24"}}},
		{"interfaces with defaults", `{"mode":"pool","pool":"p","interfaces":[{"ipv4_address":"10.0.5.9"},{"name":"lan","pool":"q","mac_address":"06:00:00:00:00:01"}]}`,
			&Network{Mode: NetPool, Pool: "p", Interfaces: []Interface{{IPv4Address: "10.0.5.9"}, {Name: "lan", Pool: "q", MACAddress: "06:00:00:00:00:01"}}},
			[]Interface{{Name: "eth0", Pool: "p", IPv4Address: "10.0.5.9"}, {Name: "lan", Pool: "q", MACAddress: "06:00:00:00:00:01"}}},
		{"ports", `{"pool":"p","ports":["8080:80","53:5353/udp","53:53/tcp"]}`,
			&Network{Mode: NetPool, Pool: "p", Ports: []Port{{"tcp", 8080, 80}, {"udp", 53, 5353}, {"tcp", 53, 53}}},
			[]Interface{{Name: "eth0", Pool: "p"}}},
		{"interfaces imply mode", `{"interfaces":[{"pool":"p"}]}`,
			&Network{Mode: NetPool, Interfaces: []Interface{{Pool: "p"}}}, []Interface{{Name: "eth0", Pool: "p"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := []string{}
			if tc.in != "" {
				extra = append(extra, `"network":`+tc.in)
			}
			c := parseOK(t, st(app("a", extra...)), Options{}).Container("a")
			assert.Equal(t, tc.want, c.Network)
			assert.Equal(t, tc.ifaces, c.Network.Ifaces())
		})
	}
}

// TestNetworkErrors: each bad "network" is refused naming the key.
func TestNetworkErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, msg string }{
		{"not object", `"pool"`, "network: want a object, got string"},
		{"bad mode", `{"mode":"bridge"}`, `network.mode: invalid value "bridge"`},
		{"pool without name", `{"mode":"pool"}`, `network.pool: missing for mode "pool"`},
		{"pool in host mode", `{"mode":"host","pool":"p"}`, `network.pool: only for mode "pool", not "host"`},
		{"ip in none mode", `{"mode":"none","ip":"10.0.0.2"}`, `network.ip: only for mode "pool", not "none"`},
		{"mac without pool", `{"mac":"02:00:00:00:00:01"}`, `network.mac: only for mode "pool", not ""`},
		{"interfaces in host mode", `{"mode":"host","interfaces":[]}`, `network.interfaces: only for mode "pool"`},
		{"bad ip", `{"pool":"p","ip":"10.0.5"}`, `network.ip: want an IPv4 address or CIDR, got "10.0.5"`},
		{"ipv6 ip", `{"pool":"p","ip":"fd00::2"}`, `network.ip: want an IPv4 address or CIDR`},
		{"mapped ip", `{"pool":"p","ip":"::ffff:10.0.5.2"}`, `network.ip: want an IPv4 address`},
		{"leading zero ip", `{"pool":"p","ip":"10.0.5.07"}`, `network.ip: want an IPv4 address`},
		{"bad prefix", `{"pool":"p","ip":"10.0.5.2/33"}`, `network.ip: want an IPv4 address or CIDR, got "10.0.5.2/33"`},
		{"ip not string", `{"pool":"p","ip":1}`, `network.ip: want a string, got number`},
		{"bad mac", `{"pool":"p","mac":"02:00:0a:00:05"}`, `network.mac: want a unicast MAC like 02:00:0a:00:05:02, got "02:00:0a:00:05"`},
		{"mac dashes", `{"pool":"p","mac":"02-00-0a-00-05-02"}`, `network.mac: want a unicast MAC`},
		{"mac non-hex", `{"pool":"p","mac":"02:00:0g:00:05:02"}`, `network.mac: want a unicast MAC`},
		{"multicast mac", `{"pool":"p","mac":"01:00:5e:00:00:01"}`, `network.mac: want a unicast MAC`},
		{"zero mac", `{"pool":"p","mac":"00:00:00:00:00:00"}`, `network.mac: want a unicast MAC`},
		{"interfaces not array", `{"pool":"p","interfaces":{}}`, `network.interfaces: want a array, got object`},
		{"interface not object", `{"pool":"p","interfaces":["eth0"]}`, `network.interfaces[0]: want an object, got string`},
		{"interface bad address", `{"pool":"p","interfaces":[{},{"ipv4_address":"x"}]}`, `network.interfaces[1].ipv4_address: want an IPv4 address or CIDR, got "x"`},
		{"interface bad mac", `{"pool":"p","interfaces":[{"mac_address":"zz"}]}`, `network.interfaces[0].mac_address: want a unicast MAC`},
		{"interface ip spelling", `{"pool":"p","interfaces":[{"ip":"10.0.5.2"}]}`, `network.interfaces[0].ip: write ipv4_address inside interfaces[]`},
		{"interface mac spelling", `{"pool":"p","interfaces":[{"mac":"02:00:00:00:00:01"}]}`, `network.interfaces[0].mac: write mac_address inside interfaces[]`},
		{"interface bad name", `{"pool":"p","interfaces":[{"name":"a/b"}]}`, `network.interfaces[0].name: invalid interface name "a/b"`},
		{"interface long name", `{"pool":"p","interfaces":[{"name":"abcdefghijklmnop"}]}`, `network.interfaces[0].name: invalid interface name`},
		{"interface no pool", `{"interfaces":[{"name":"eth0"}]}`, `network.interfaces[0].pool: missing, and no network.pool`},
		{"duplicate default name", `{"pool":"p","interfaces":[{},{"pool":"q"}]}`, `network.interfaces[1].name: duplicate interface "eth0"`},
		{"ip with interfaces", `{"pool":"p","ip":"10.0.5.2","interfaces":[{}]}`, `network.ip: give it in interfaces[]`},
		{"ports in host mode", `{"mode":"host","ports":["80:80"]}`, `network.ports: only for mode "pool", not "host"`},
		{"ports not array", `{"pool":"p","ports":"80:80"}`, `network.ports: want a array, got string`},
		{"port not string", `{"pool":"p","ports":[80]}`, `network.ports[0]: want a string, got number`},
		{"port one number", `{"pool":"p","ports":["80"]}`, `network.ports[0]: want DEVICEPORT:CONTAINERPORT[/tcp|/udp], got "80"`},
		{"port zero", `{"pool":"p","ports":["0:80"]}`, `network.ports[0]: want DEVICEPORT:CONTAINERPORT`},
		{"port too big", `{"pool":"p","ports":["80:65536"]}`, `network.ports[0]: want DEVICEPORT:CONTAINERPORT`},
		{"port bad proto", `{"pool":"p","ports":["80:80/sctp"]}`, `network.ports[0]: want DEVICEPORT:CONTAINERPORT`},
		{"port twice", `{"pool":"p","ports":["80:80","80:8080/tcp"]}`, `network.ports[1]: tcp port 80 forwarded twice`},
		{"mac with interfaces", `{"pool":"p","mac":"02:00:00:00:00:01","interfaces":[{}]}`, `network.mac: give it in interfaces[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(st(app("a", `"network":`+tc.in)), Options{})
			var se *Error
			require.True(t, errors.As(err, &se), "error %v is a *state.Error", err)
			assert.Equal(t, "a/run.json", se.Key)
			assert.Contains(t, se.Reason, tc.msg)
		})
	}
}

func TestParseIPv4(t *testing.T) {
	for _, tc := range []struct {
		in   string
		addr string
		bits int
		ok   bool
	}{
		{"10.0.5.7", "10.0.5.7", -1, true},
		{"10.0.5.7/24", "10.0.5.7", 24, true},
		{"10.0.5.7/32", "10.0.5.7", 32, true},
		{"10.0.5.7/0", "10.0.5.7", 0, true},
		{"", "", 0, false},
		{"10.0.5.7/", "", 0, false},
		{"10.0.5.7/024", "", 0, false},
		{"fd00::1", "", 0, false},
		{"fd00::1/64", "", 0, false},
		{"10.0.5.256", "", 0, false},
		{" 10.0.5.7", "", 0, false},
	} {
		addr, bits, err := ParseIPv4(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, ip4.MustParseAddr(tc.addr), addr, tc.in)
		assert.Equal(t, tc.bits, bits, tc.in)
	}
}

func TestParseMAC(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [6]byte
		ok   bool
	}{
		{"02:00:0a:00:05:02", [6]byte{2, 0, 10, 0, 5, 2}, true},
		{"AA:BB:CC:DD:EE:FF", [6]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, true},
		{"ab:bb:cc:dd:ee:ff", [6]byte{}, false}, // multicast bit
		{"00:00:00:00:00:00", [6]byte{}, false},
		{"02:00:0a:00:05", [6]byte{}, false},
		{"02:00:0a:00:05:02:", [6]byte{}, false},
		{"02:00:0a:00:05-02", [6]byte{}, false},
		{"02:00:0a:00:05:+2", [6]byte{}, false},
		{"02:00:0a:00:05:0x", [6]byte{}, false},
		{"0200.0a00.0502", [6]byte{}, false},
		{"", [6]byte{}, false},
	} {
		got, err := ParseMAC(tc.in)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestCheckIfName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"eth0", true}, {"pvbr0", true}, {"abcdefghijklmno", true}, {"veth-a_b.1", true},
		{"", false}, {"abcdefghijklmnop", false}, {".", false}, {"..", false},
		{"a/b", false}, {"a:b", false}, {"a b", false}, {"a\tb", false},
	} {
		err := CheckIfName(tc.in)
		if tc.ok {
			assert.NoError(t, err, tc.in)
		} else {
			assert.ErrorIs(t, err, ErrIfName, tc.in)
		}
	}
}
