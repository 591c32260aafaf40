package cert

import "pantavisor/lib/sentinel"

// errDER is wrapped by every DER decoding error.
var errDER error = &sentinel.Error{Text: "malformed DER"}

// ASN.1 tags (universal class, and the context-specific ones X.509 uses).
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagUTF8String  = 0x0c
	tagPrintable   = 0x13
	tagT61String   = 0x14
	tagIA5String   = 0x16
	tagUTCTime     = 0x17
	tagGenTime     = 0x18
	tagBMPString   = 0x1e
	tagSequence    = 0x30
	tagSet         = 0x31
	tagExplicit0   = 0xa0
	tagImplicit1   = 0x81 // issuerUniqueID
	tagImplicit2   = 0x82 // subjectUniqueID
	tagExplicit3   = 0xa3
)

// der reads DER elements from the front of a byte slice: one tag byte
// (low tag numbers only, which is all X.509 uses), a definite length in its
// shortest form, and the contents.
type der []byte

// next splits off the first element: its tag, contents, and whole
// encoding. ok is false when d is empty or the element is malformed.
func (d *der) next() (tag byte, content, full []byte, ok bool) {
	b := *d
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, nil, nil, false
	}
	tag, n, hdr := b[0], int(b[1]), 2
	if n >= 0x80 {
		size := n & 0x7f
		if size == 0 || size > 3 || len(b) < 2+size || b[2] == 0 {
			return 0, nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+size] {
			n = n<<8 | int(c)
		}
		if n < 0x80 {
			return 0, nil, nil, false
		}
		hdr += size
	}
	if len(b)-hdr < n {
		return 0, nil, nil, false
	}
	*d = b[hdr+n:]
	return tag, b[hdr : hdr+n], b[:hdr+n], true
}

// read splits off the first element, which must have tag want.
func (d *der) read(want byte) (content []byte, ok bool) {
	content, _, ok = d.readFull(want)
	return content, ok
}

// readFull is read that also returns the whole encoding.
func (d *der) readFull(want byte) (content, full []byte, ok bool) {
	rest := *d
	tag, content, full, ok := rest.next()
	if !ok || tag != want {
		return nil, nil, false
	}
	*d = rest
	return content, full, true
}

// peek reports whether the next element has tag t.
func (d der) peek(t byte) bool { return len(d) > 0 && d[0] == t }

// uintValue decodes a non-negative INTEGER's contents that fit in 31 bits,
// rejecting non-minimal encodings as DER requires.
func uintValue(b []byte) (int, bool) {
	if len(b) == 0 || b[0]&0x80 != 0 || len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0 {
		return 0, false
	}
	if len(b) > 5 || len(b) == 5 && b[0] != 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		n = n<<8 | int(c)
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

// bigIntBytes checks a positive INTEGER's contents (minimal encoding, not
// negative, not zero) and returns its magnitude.
func bigIntBytes(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0]&0x80 != 0 || len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0 {
		return nil, false
	}
	if b[0] == 0 {
		b = b[1:]
	}
	return b, len(b) > 0
}

// twoIntegers reads SEQUENCE { INTEGER, INTEGER } (whole, nothing after)
// and returns the two INTEGERs' contents: an RSAPublicKey or an
// ECDSA-Sig-Value.
func twoIntegers(d der) (a, b []byte, ok bool) {
	seq, ok := d.read(tagSequence)
	if !ok || len(d) != 0 {
		return nil, nil, false
	}
	sd := der(seq)
	a, ok1 := sd.read(tagInteger)
	b, ok2 := sd.read(tagInteger)
	return a, b, ok1 && ok2 && len(sd) == 0
}

// boolValue decodes a DER BOOLEAN's contents.
func boolValue(b []byte) (v, ok bool) {
	if len(b) != 1 || b[0] != 0 && b[0] != 0xff {
		return false, false
	}
	return b[0] == 0xff, true
}

// bitString checks a BIT STRING's contents (unused-bit count, zero padding)
// and returns its bytes and the count of unused bits in the last one.
func bitString(b []byte) (bits []byte, unused int, ok bool) {
	if len(b) == 0 || b[0] > 7 || len(b) == 1 && b[0] != 0 {
		return nil, 0, false
	}
	unused = int(b[0])
	bits = b[1:]
	if len(bits) > 0 && bits[len(bits)-1]&(1<<unused-1) != 0 {
		return nil, 0, false
	}
	return bits, unused, true
}
