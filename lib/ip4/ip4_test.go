package ip4

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAddr(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{"10.0.5.2", "10.0.5.2", ""},
		{"0.0.0.0", "0.0.0.0", ""},
		{"255.255.255.255", "255.255.255.255", ""},
		{"10.0.5.07", "", `ParseAddr("10.0.5.07"): IPv4 field has octet with leading zero`},
		{"10.0.5.256", "", `ParseAddr("10.0.5.256"): IPv4 field has value >255`},
		{"10.0.5", "", `ParseAddr("10.0.5"): IPv4 address too short`},
		{"10.0.5.2.1", "", `ParseAddr("10.0.5.2.1"): IPv4 address too long`},
		{"10..5.2", "", `ParseAddr("10..5.2"): IPv4 field must have at least one digit (at ".5.2")`},
		{".0.5.2", "", `ParseAddr(".0.5.2"): IPv4 field must have at least one digit (at ".0.5.2")`},
		{"10.0.5.2/24", "", `ParseAddr("10.0.5.2/24"): unexpected character (at "/24")`},
		{" 10.0.5.2", "", `ParseAddr(" 10.0.5.2"): unexpected character (at " 10.0.5.2")`},
		{"", "", `ParseAddr(""): unable to parse IP`},
		{"10", "", `ParseAddr("10"): unable to parse IP`},
		{"%eth0", "", `ParseAddr("%eth0"): missing IPv6 address`},
		{"fd00::1", "", `ParseAddr("fd00::1"): not an IPv4 address`},
		{"::ffff:10.0.5.2", "", `ParseAddr("::ffff:10.0.5.2"): not an IPv4 address`},
	} {
		a, err := ParseAddr(tt.in)
		if tt.err != "" {
			assert.EqualError(t, err, tt.err, tt.in)
			assert.False(t, a.IsValid(), tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.True(t, a.IsValid(), tt.in)
		assert.Equal(t, tt.want, a.String())
		assert.Equal(t, a, MustParseAddr(tt.want), "round trip")
	}
}

func TestParsePrefix(t *testing.T) {
	for _, tt := range []struct {
		in, want, masked, err string
	}{
		{"10.0.5.2/24", "10.0.5.2/24", "10.0.5.0/24", ""},
		{"10.0.5.2/32", "10.0.5.2/32", "10.0.5.2/32", ""},
		{"10.0.5.2/0", "10.0.5.2/0", "0.0.0.0/0", ""},
		{"10.255.5.2/9", "10.255.5.2/9", "10.128.0.0/9", ""},
		{"10.0.5.2", "", "", `netip.ParsePrefix("10.0.5.2"): no '/'`},
		{"10.0.5.2/33", "", "", `netip.ParsePrefix("10.0.5.2/33"): prefix length out of range`},
		{"10.0.5.2/100", "", "", `netip.ParsePrefix("10.0.5.2/100"): prefix length out of range`},
		{"10.0.5.2/024", "", "", `netip.ParsePrefix("10.0.5.2/024"): bad bits after slash: "024"`},
		{"10.0.5.2/+8", "", "", `netip.ParsePrefix("10.0.5.2/+8"): bad bits after slash: "+8"`},
		{"10.0.5.2/-1", "", "", `netip.ParsePrefix("10.0.5.2/-1"): bad bits after slash: "-1"`},
		{"10.0.5.2/", "", "", `netip.ParsePrefix("10.0.5.2/"): bad bits after slash: ""`},
		{"10.0.5.2/2x", "", "", `netip.ParsePrefix("10.0.5.2/2x"): bad bits after slash: "2x"`},
		{"10.0.5.07/24", "", "", `netip.ParsePrefix("10.0.5.07/24"): ParseAddr("10.0.5.07"): IPv4 field has octet with leading zero`},
		{"fd00::/64", "", "", `netip.ParsePrefix("fd00::/64"): ParseAddr("fd00::"): not an IPv4 address`},
	} {
		p, err := ParsePrefix(tt.in)
		if tt.err != "" {
			assert.EqualError(t, err, tt.err, tt.in)
			assert.False(t, p.IsValid(), tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, p.String())
		assert.Equal(t, tt.masked, p.Masked().String(), tt.in)
		assert.True(t, p.Contains(p.Addr()), tt.in)
	}
}

func TestZeroValues(t *testing.T) {
	var a Addr
	var p Prefix
	var ap AddrPort
	assert.False(t, a.IsValid())
	assert.Equal(t, "invalid IP", a.String())
	assert.False(t, a.Next().IsValid())
	assert.False(t, a.Prev().IsValid())
	assert.False(t, p.IsValid())
	assert.Equal(t, -1, p.Bits())
	assert.Equal(t, "invalid Prefix", p.String())
	assert.Equal(t, Prefix{}, p.Masked())
	assert.False(t, p.Contains(a))
	assert.False(t, MustParsePrefix("0.0.0.0/0").Contains(a), "the zero Addr is in no prefix")
	assert.False(t, ap.IsValid())
	assert.Equal(t, "invalid AddrPort", ap.String())
	assert.False(t, PrefixFrom(MustParseAddr("10.0.0.1"), 33).IsValid())
	assert.False(t, PrefixFrom(MustParseAddr("10.0.0.1"), -1).IsValid())
	assert.False(t, PrefixFrom(Addr{}, 8).IsValid())
}

func TestNextPrevCompare(t *testing.T) {
	a := MustParseAddr("10.0.5.255")
	assert.Equal(t, MustParseAddr("10.0.6.0"), a.Next())
	assert.Equal(t, a, a.Next().Prev())
	assert.False(t, MustParseAddr("255.255.255.255").Next().IsValid(), "overflow")
	assert.False(t, MustParseAddr("0.0.0.0").Prev().IsValid(), "underflow")
	assert.True(t, a.Less(a.Next()))
	assert.False(t, a.Less(a))
	assert.Equal(t, 0, a.Compare(a))
	assert.Equal(t, 1, a.Compare(Addr{}))
	assert.Equal(t, -1, Addr{}.Compare(a))
	assert.True(t, MustParseAddr("9.255.255.255").Less(MustParseAddr("10.0.0.0")))
}

func TestContains(t *testing.T) {
	p := MustParsePrefix("10.0.5.7/24")
	for _, tt := range []struct {
		a    string
		want bool
	}{
		{"10.0.5.0", true}, {"10.0.5.255", true}, {"10.0.4.255", false}, {"10.0.6.0", false},
	} {
		assert.Equal(t, tt.want, p.Contains(MustParseAddr(tt.a)), tt.a)
	}
	assert.True(t, MustParsePrefix("1.2.3.4/0").Contains(MustParseAddr("255.0.0.1")))
	assert.False(t, MustParsePrefix("1.2.3.4/32").Contains(MustParseAddr("1.2.3.5")))
}

func TestAddrFromSlice(t *testing.T) {
	a, ok := AddrFromSlice([]byte{10, 0, 5, 2})
	assert.True(t, ok)
	assert.Equal(t, MustParseAddr("10.0.5.2"), a)
	assert.Equal(t, [4]byte{10, 0, 5, 2}, a.As4())
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 16)} {
		a, ok := AddrFromSlice(b)
		assert.False(t, ok)
		assert.False(t, a.IsValid())
	}
}

func TestParseAddrPort(t *testing.T) {
	p, err := ParseAddrPort("10.0.5.2:80")
	require.NoError(t, err)
	assert.Equal(t, AddrPortFrom(MustParseAddr("10.0.5.2"), 80), p)
	assert.Equal(t, "10.0.5.2:80", p.String())
	assert.Equal(t, uint16(80), p.Port())
	assert.Equal(t, MustParseAddr("10.0.5.2"), p.Addr())
	for _, s := range []string{"10.0.5.2", "10.0.5.2:65536", "10.0.5.2:", "10.0.5.2:-1", "[fd00::2]:80", "[10.0.5.2]:80", ":80"} {
		_, err := ParseAddrPort(s)
		assert.Error(t, err, s)
	}
}

// FuzzParse checks ParseAddr, ParsePrefix and ParseAddrPort against
// net/netip: they succeed exactly when netip's do with an IPv4 result,
// print the same text, agree on Masked and Contains, and fail with
// netip's message wherever netip took its IPv4 path.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"10.0.5.2", "10.0.5.2/24", "10.0.5.07", "1.2.3.4/024", "::ffff:1.2.3.4",
		"::ffff:1.2.3.4/120", "fd00::1/64", "1.2.3.4:80", "%x", "", "1.2.3.4/33", "255.255.255.255/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := netip.ParseAddr(s)
		got, err := ParseAddr(s)
		if werr == nil && want.Is4() {
			require.NoError(t, err, s)
			require.Equal(t, want.String(), got.String())
			require.Equal(t, want.As4(), got.As4())
			require.Equal(t, want.Next().IsValid(), got.Next().IsValid())
			if want.Next().IsValid() {
				require.Equal(t, want.Next().String(), got.Next().String())
			}
		} else {
			require.Error(t, err, s)
			if v4path(s) {
				require.Equal(t, werr.Error(), err.Error())
			}
		}

		wp, werr := netip.ParsePrefix(s)
		gp, err := ParsePrefix(s)
		if werr == nil && wp.Addr().Is4() {
			require.NoError(t, err, s)
			require.Equal(t, wp.String(), gp.String())
			require.Equal(t, wp.Masked().String(), gp.Masked().String())
			require.Equal(t, wp.Bits(), gp.Bits())
			if a, err := netip.ParseAddr(strings.SplitN(s, "/", 2)[0]); err == nil {
				require.Equal(t, wp.Contains(a), gp.Contains(MustParseAddr(a.String())))
			}
		} else {
			require.Error(t, err, s)
			if i := strings.LastIndexByte(s, '/'); i < 0 || v4path(s[:i]) {
				require.Equal(t, werr.Error(), err.Error())
			}
		}

		wap, werr := netip.ParseAddrPort(s)
		gap, err := ParseAddrPort(s)
		if werr == nil && wap.Addr().Is4() {
			require.NoError(t, err, s)
			require.Equal(t, wap.String(), gap.String())
		} else {
			require.Error(t, err, s)
		}
	})
}

// v4path reports whether netip.ParseAddr(s) takes its IPv4 (or no-address)
// path, where ParseAddr words its errors the same.
func v4path(s string) bool {
	i := strings.IndexAny(s, ".:%")
	return i < 0 || s[i] != ':'
}
