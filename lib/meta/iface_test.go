package meta

import (
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatIPv6(t *testing.T) {
	for _, want := range []string{
		"::", "::1", "1::", "fe80::5054:ff:fe12:3456", "2001:db8::1", "2001:db8:0:1:1:1:1:1",
		"2001:0:0:1::1", "2001:db8::1:0:0:1", "1:2:3:4:5:6:7:8", "ff02::1:ff00:0",
		"1:0:2:3:4:5:6:7",
	} {
		ip := net.ParseIP(want)
		require.NotNil(t, ip, want)
		assert.Equal(t, want, formatIPv6(ip.To16()), want)
	}
}

func TestFormatIPv4AndMAC(t *testing.T) {
	assert.Equal(t, "10.0.2.255", formatIPv4([]byte{10, 0, 2, 255}))
	assert.Equal(t, "52:54:00:0a:bc:ff", formatMAC([]byte{0x52, 0x54, 0, 0x0a, 0xbc, 0xff}))
	assert.Equal(t, "", formatMAC([]byte{0, 0, 0, 0, 0, 0}))
	assert.Equal(t, "", formatMAC(nil))
	assert.Equal(t, "eth0", cString([]byte("eth0\x00\x00")))
}

// TestReadInterfaces compares the netlink reader with package net on the
// host: same names, MACs and addresses.
func TestReadInterfaces(t *testing.T) {
	got, err := readInterfaces()
	require.NoError(t, err)
	nifs, err := net.Interfaces()
	require.NoError(t, err)
	byName := map[string]Interface{}
	for _, it := range got {
		byName[it.Name] = it
	}
	for _, n := range nifs {
		it, ok := byName[n.Name]
		if !assert.True(t, ok, "interface %s", n.Name) {
			continue
		}
		assert.Equal(t, strings.Trim(n.HardwareAddr.String(), ":0"), strings.Trim(it.MAC, ":0"), n.Name)
		addrs, err := n.Addrs()
		require.NoError(t, err)
		var want, have []string
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				want = append(want, ipn.IP.String())
			}
		}
		for _, a := range it.IPv4 {
			have = append(have, a)
		}
		for _, a := range it.IPv6 {
			have = append(have, strings.TrimSuffix(a, "%"+n.Name))
		}
		// IPv4 labels (aliases) are listed under their own name.
		for _, other := range got {
			if strings.HasPrefix(other.Name, n.Name+":") {
				have = append(have, other.IPv4...)
			}
		}
		sort.Strings(want)
		sort.Strings(have)
		assert.Equal(t, want, have, n.Name)
	}
}

func TestGettimeofday(t *testing.T) {
	before := time.Now().Unix()
	tv, _, err := gettimeofday()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, int64(tv.Sec), before)
	assert.LessOrEqual(t, int64(tv.Sec), time.Now().Unix())
	assert.Less(t, int64(tv.Usec), int64(1000000))
}

// TestRealSystem collects every key from this host; only the storage
// needs a mounted path, so it measures the temp dir.
func TestRealSystem(t *testing.T) {
	sys := &System{Storage: t.TempDir()}
	got, err := sys.Collect()
	require.NoError(t, err)
	require.Len(t, got, len(SystemKeys()))
	for _, e := range got[4:] {
		assert.True(t, strings.HasPrefix(e.Value, "{"), e.Key)
	}
}
