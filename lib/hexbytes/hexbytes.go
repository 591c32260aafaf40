// Package hexbytes decodes hexadecimal text. It replaces
// encoding/hex.DecodeString in the device binary: that function's error
// type formats with package fmt, which would link fmt's printer and
// package reflect for one message (README "Size budget").
package hexbytes

// Decode returns the bytes that s, an even number of hexadecimal digits
// in either case, encodes, and false for anything else.
func Decode(s string) ([]byte, bool) {
	if len(s)%2 != 0 {
		return nil, false
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, ok1 := Digit(s[2*i])
		lo, ok2 := Digit(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		b[i] = hi<<4 | lo
	}
	return b, true
}

// Digit returns the value of the hexadecimal digit c, and false when c is
// not one.
func Digit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
