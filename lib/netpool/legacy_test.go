package netpool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLegacyBridge(t *testing.T) {
	for _, tc := range []struct {
		addr, mask, want, err string
	}{
		{"10.0.3.1", "255.255.255.0", "10.0.3.1/24", ""},
		{"192.168.7.1", "255.255.0.0", "192.168.7.1/16", ""},
		{"10.0.3.1", "255.255.255.255", "10.0.3.1/32", ""},
		{"10.0.3.1", "0.0.0.0", "10.0.3.1/0", ""},
		{"10.0.3.1", "255.0.255.0", "", `PV_NET_BRMASK4 "255.0.255.0": not a contiguous netmask`},
		{"10.0.3.1", "24", "", `PV_NET_BRMASK4 "24": not an IPv4 netmask`},
		{"fe80::1", "255.255.255.0", "", `PV_NET_BRADDRESS4 "fe80::1": not an IPv4 address`},
		{"", "255.255.255.0", "", `PV_NET_BRADDRESS4 "": not an IPv4 address`},
	} {
		b, err := LegacyBridge("lxcbr0", tc.addr, tc.mask)
		if tc.err != "" {
			assert.EqualError(t, err, tc.err, tc.addr+" "+tc.mask)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, "lxcbr0", b.Name)
		assert.Equal(t, tc.want, b.Addr.String())
	}
}
