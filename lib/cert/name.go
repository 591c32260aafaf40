package cert

import (
	"errors"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// oidCN is the DER contents of id-at-commonName (2.5.4.3).
const oidCN = "\x55\x04\x03"

// readName splits off a Name (RDNSequence) and returns its whole
// encoding. Every attribute value must be a string type crypto/x509
// accepts; cn, when not nil, is set to the last commonName.
func readName(d *der, cn *string) ([]byte, error) {
	seq, full, ok := d.readFull(tagSequence)
	if !ok {
		return nil, errDER
	}
	rdns := der(seq)
	for len(rdns) > 0 {
		set, ok := rdns.read(tagSet)
		if !ok {
			return nil, errDER
		}
		atvs := der(set)
		for len(atvs) > 0 {
			atv, ok := atvs.read(tagSequence)
			if !ok {
				return nil, errDER
			}
			if err := readAttribute(der(atv), cn); err != nil {
				return nil, err
			}
		}
	}
	return full, nil
}

// readAttribute checks one AttributeTypeAndValue and records a CN.
func readAttribute(d der, cn *string) error {
	oid, ok := d.read(tagOID)
	if !ok || !validOID(oid) {
		return errors.New("malformed attribute type")
	}
	tag, value, _, ok := d.next()
	if !ok || len(d) != 0 {
		return errors.New("malformed attribute value")
	}
	s, ok := decodeString(tag, value)
	if !ok {
		return errors.New("invalid attribute value")
	}
	if cn != nil && string(oid) == oidCN {
		*cn = s
	}
	return nil
}

// validOID checks an OBJECT IDENTIFIER's contents: non-empty, every
// sub-identifier terminated and minimally encoded.
func validOID(b []byte) bool {
	if len(b) == 0 || b[len(b)-1]&0x80 != 0 {
		return false
	}
	start := true
	for _, c := range b {
		if start && c == 0x80 {
			return false
		}
		start = c&0x80 == 0
	}
	return true
}

// decodeString decodes the string types crypto/x509 accepts in a Name,
// with its checks.
func decodeString(tag byte, b []byte) (string, bool) {
	switch tag {
	case tagT61String:
		return string(b), true
	case tagPrintable:
		for _, c := range b {
			if !printable(c) {
				return "", false
			}
		}
		return string(b), true
	case tagUTF8String:
		return string(b), utf8.Valid(b)
	case tagIA5String, 0x12: // IA5String, NumericString
		for _, c := range b {
			if c >= utf8.RuneSelf || tag == 0x12 && c != ' ' && (c < '0' || c > '9') {
				return "", false
			}
		}
		return string(b), true
	case tagBMPString:
		return decodeBMP(b)
	}
	return "", false
}

// printable reports whether c is in PrintableString's alphabet, with the
// '*' and '&' crypto/x509 also lets through.
func printable(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		'\'' <= c && c <= ')' || '+' <= c && c <= '/' ||
		c == ' ' || c == ':' || c == '=' || c == '?' || c == '*' || c == '&'
}

func decodeBMP(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	if len(b) >= 2 && b[len(b)-2] == 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-2] // strip a terminator, as crypto/x509 does
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u)), true
}

// readTime splits off a UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or
// GeneralizedTime (YYYYMMDDHHMMSSZ). The DER forms only: no fractions, no
// offsets (crypto/x509 also takes those; no CA writes them).
func readTime(d *der) (time.Time, error) {
	bad := errors.New("malformed time")
	var s []byte
	var century int
	switch {
	case d.peek(tagUTCTime):
		s, _ = d.read(tagUTCTime)
		if len(s) != 13 {
			return time.Time{}, bad
		}
		century = -1
	case d.peek(tagGenTime):
		s, _ = d.read(tagGenTime)
		if len(s) != 15 {
			return time.Time{}, bad
		}
	default:
		return time.Time{}, bad
	}
	if s[len(s)-1] != 'Z' {
		return time.Time{}, bad
	}
	var f []int
	for i := 0; i+1 < len(s)-1; i += 2 {
		if s[i] < '0' || s[i] > '9' || s[i+1] < '0' || s[i+1] > '9' {
			return time.Time{}, bad
		}
		f = append(f, int(s[i]-'0')*10+int(s[i+1]-'0'))
	}
	var year int
	if century < 0 {
		year, f = 1900+f[0], f[1:]
		if year < 1950 {
			year += 100
		}
	} else {
		year, f = f[0]*100+f[1], f[2:]
	}
	t := time.Date(year, time.Month(f[0]), f[1], f[2], f[3], f[4], 0, time.UTC)
	if t.Year() != year || int(t.Month()) != f[0] || t.Day() != f[1] || t.Hour() != f[2] ||
		t.Minute() != f[3] || t.Second() != f[4] {
		return time.Time{}, bad
	}
	return t, nil
}
