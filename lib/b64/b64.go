// Package b64 decodes base64 without encoding/base64, which the device
// binary does not otherwise need and which builds its tables at init time,
// in every applet.
package b64

// DecodeURL decodes unpadded base64url (RFC 4648 §5); ok is false for a
// character outside the alphabet, a lone trailing character or non-zero
// trailing bits.
func DecodeURL(s string) ([]byte, bool) { return decode(s, '-', '_') }

// DecodeStd decodes padded standard base64 (RFC 4648 §4), as the x5c
// certificates of a JWS header are written; ok is false as for DecodeURL,
// and for missing or misplaced padding.
func DecodeStd(s string) ([]byte, bool) {
	if len(s)%4 != 0 {
		return nil, false
	}
	for i := 0; i < 2 && len(s) > 0 && s[len(s)-1] == '='; i++ {
		s = s[:len(s)-1]
	}
	return decode(s, '+', '/')
}

func decode(s string, c62, c63 byte) ([]byte, bool) {
	out := make([]byte, 0, len(s)*3/4)
	var acc uint32
	bits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c >= 'A' && c <= 'Z':
			v = c - 'A'
		case c >= 'a' && c <= 'z':
			v = c - 'a' + 26
		case c >= '0' && c <= '9':
			v = c - '0' + 52
		case c == c62:
			v = 62
		case c == c63:
			v = 63
		default:
			return nil, false
		}
		acc, bits = acc<<6|uint32(v), bits+6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, bits < 6 && acc&(1<<bits-1) == 0
}

// AppendURL appends data as unpadded base64url.
func AppendURL(dst, data []byte) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var acc uint32
	bits := 0
	for _, b := range data {
		acc, bits = acc<<8|uint32(b), bits+8
		for bits >= 6 {
			bits -= 6
			dst = append(dst, alphabet[acc>>bits&63])
		}
	}
	if bits > 0 {
		dst = append(dst, alphabet[acc<<(6-bits)&63])
	}
	return dst
}
