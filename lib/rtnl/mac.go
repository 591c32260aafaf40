package rtnl

import (
	"errors"

	"pantavisor/lib/hexbytes"
	"pantavisor/lib/printf"
)

// ErrBadMAC: ParseMAC was given something other than six hex pairs.
var ErrBadMAC = errors.New("not a MAC address (six hex pairs joined by ':')")

// ParseMAC reads an Ethernet address written as six hex pairs joined by
// ':' ("02:00:0a:00:00:02"), either case.
func ParseMAC(s string) ([]byte, error) {
	if len(s) != 17 {
		return nil, printf.Errorf("%q: %w", s, ErrBadMAC)
	}
	out := make([]byte, 6)
	for i := range out {
		hi, ok1 := hexbytes.Digit(s[3*i])
		lo, ok2 := hexbytes.Digit(s[3*i+1])
		if !ok1 || !ok2 || (i < 5 && s[3*i+2] != ':') {
			return nil, printf.Errorf("%q: %w", s, ErrBadMAC)
		}
		out[i] = hi<<4 | lo
	}
	return out, nil
}

// FormatMAC writes a hardware address as lowercase hex pairs joined by ':'.
func FormatMAC(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}
