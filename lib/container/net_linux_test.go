package container

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/rtnl"
)

func TestParseNet(t *testing.T) {
	ok := NetIface{TempName: "pvtmp0", Name: "eth0", MAC: "02:00:0A:00:00:02", Addr: "10.0.0.2/24", Gateway: "10.0.0.1"}
	confs, err := parseNet([]NetIface{ok, {TempName: "eth1"}})
	require.NoError(t, err)
	require.Len(t, confs, 2)
	assert.Equal(t, []byte{2, 0, 10, 0, 0, 2}, confs[0].mac)
	assert.Equal(t, "10.0.0.2/24", confs[0].addr.String())
	assert.Equal(t, "10.0.0.1", confs[0].gw.String())
	assert.Nil(t, confs[1].mac, "no MAC: the kernel's stays")
	assert.False(t, confs[1].addr.IsValid())
	assert.False(t, confs[1].gw.IsValid())

	tests := []struct {
		name  string
		in    []NetIface
		error string
	}{
		{"no temporary name", []NetIface{{Name: "eth0"}}, `interface "eth0": no temporary name`},
		{"bad MAC", []NetIface{{TempName: "t0", MAC: "02:00"}}, `interface t0: "02:00": not a MAC address`},
		{"address without length", []NetIface{{TempName: "t0", Addr: "10.0.0.2"}}, `interface t0: address: netip.ParsePrefix("10.0.0.2"): no '/'`},
		{"bad gateway", []NetIface{{TempName: "t0", Gateway: "10.0.0"}}, `interface t0: gateway: `},
		{"two gateways", []NetIface{{TempName: "t0", Gateway: "10.0.0.1"}, {TempName: "t1", Gateway: "10.0.1.1"}}, errTwoGateways.Error()},
	}
	for _, tt := range tests {
		_, err := parseNet(tt.in)
		assert.ErrorContains(t, err, tt.error, tt.name)
	}
	_, err = parseNet([]NetIface{{TempName: "t0", MAC: "x"}})
	assert.ErrorIs(t, err, rtnl.ErrBadMAC)
}
