package cert

import (
	"encoding/hex"
	"errors"

	"pantavisor/lib/printf"
)

// DER contents of the extension OIDs (all under id-ce, 2.5.29).
const (
	extSKID        = 14
	extKeyUsage    = 15
	extSAN         = 17
	extBasic       = 19
	extNameConstr  = 30
	extPolicyMap   = 33
	extAKID        = 35
	extPolicyConst = 36
	extEKU         = 37
	extInhibitAny  = 54
)

// parseExtensions reads the [3] extensions: basicConstraints and keyUsage
// are decoded; subjectKeyIdentifier, authorityKeyIdentifier and
// extKeyUsage (Verify accepts any usage, like crypto/x509 with
// ExtKeyUsageAny) are understood and ignored, critical or not;
// nameConstraints and the policy extensions (mappings, constraints,
// inhibitAnyPolicy) are recorded so that Verify refuses the certificate;
// any other critical extension is recorded as unhandled; the rest are
// ignored. A duplicate extension is an error, as in crypto/x509.
func (c *Cert) parseExtensions(d *der) error {
	outer, _ := d.read(tagExplicit3)
	od := der(outer)
	list, ok := od.read(tagSequence)
	if !ok || len(od) != 0 || len(list) == 0 {
		return printf.Errorf("extensions: %w", errDER)
	}
	seen := map[string]bool{}
	for ld := der(list); len(ld) > 0; {
		ext, ok := ld.read(tagSequence)
		if !ok {
			return printf.Errorf("extension: %w", errDER)
		}
		oid, critical, value, err := readExtension(der(ext))
		if err != nil {
			return err
		}
		if seen[string(oid)] {
			return errors.New("duplicate extension")
		}
		seen[string(oid)] = true
		if err := c.extension(oid, critical, value); err != nil {
			return err
		}
	}
	return nil
}

// readExtension splits an Extension into its OID, critical flag and value.
func readExtension(d der) (oid []byte, critical bool, value []byte, err error) {
	oid, ok := d.read(tagOID)
	if !ok || !validOID(oid) {
		return nil, false, nil, printf.Errorf("extension id: %w", errDER)
	}
	if d.peek(tagBoolean) {
		b, _ := d.read(tagBoolean)
		if critical, ok = boolValue(b); !ok {
			return nil, false, nil, printf.Errorf("extension critical flag: %w", errDER)
		}
	}
	value, ok = d.read(tagOctetString)
	if !ok || len(d) != 0 {
		return nil, false, nil, printf.Errorf("extension value: %w", errDER)
	}
	return oid, critical, value, nil
}

// extension applies one extension (see parseExtensions).
func (c *Cert) extension(oid []byte, critical bool, value []byte) error {
	id := -1
	if len(oid) == 3 && oid[0] == 0x55 && oid[1] == 0x1d {
		id = int(oid[2])
	}
	switch id {
	case extBasic:
		return c.basicConstraints(der(value))
	case extKeyUsage:
		return c.keyUsage(der(value))
	case extSKID, extAKID, extEKU, extSAN:
		if !shapeOK(id, der(value)) {
			return printf.Errorf("invalid extension 2.5.29.%d", id)
		}
		if id == extSAN && critical {
			c.unhandled = "2.5.29.17"
		}
		return nil
	case extNameConstr:
		c.constraint = "name constraints"
		return nil
	case extPolicyMap, extPolicyConst, extInhibitAny:
		c.constraint = "policy constraints"
		return nil
	}
	if critical {
		c.unhandled = hex.EncodeToString(oid)
	}
	return nil
}

// shapeOK checks the outer structure of the extensions Verify ignores, so
// that most encodings crypto/x509 refuses are refused here too: SKID an
// OCTET STRING, AKID and SAN a SEQUENCE, EKU a SEQUENCE OF OID; the SAN's
// dNSName, rfc822Name and URI are ASCII and its iPAddress 4 or 16 bytes.
// (crypto/x509 further checks the syntax of SAN names.)
func shapeOK(id int, d der) bool {
	tag := byte(tagSequence)
	if id == extSKID {
		tag = tagOctetString
	}
	body, ok := d.read(tag)
	if !ok || len(d) != 0 {
		return false
	}
	for bd := der(body); id == extEKU || id == extSAN; {
		if len(bd) == 0 {
			return true
		}
		t, v, _, ok := bd.next()
		if !ok || id == extEKU && (t != tagOID || !validOID(v)) || id == extSAN && !sanOK(t, v) {
			return false
		}
	}
	return true
}

func sanOK(tag byte, v []byte) bool {
	switch tag {
	case 0x81, 0x82, 0x86: // rfc822Name, dNSName, URI
		for _, c := range v {
			if c >= 0x80 {
				return false
			}
		}
	case 0x87: // iPAddress
		return len(v) == 4 || len(v) == 16
	}
	return true
}

// basicConstraints reads SEQUENCE { cA BOOLEAN DEFAULT FALSE,
// pathLenConstraint INTEGER (0..MAX) OPTIONAL }.
func (c *Cert) basicConstraints(d der) error {
	bad := errors.New("invalid basic constraints")
	seq, ok := d.read(tagSequence)
	if !ok || len(d) != 0 {
		return bad
	}
	sd := der(seq)
	if sd.peek(tagBoolean) {
		b, _ := sd.read(tagBoolean)
		if c.IsCA, ok = boolValue(b); !ok {
			return bad
		}
	}
	if sd.peek(tagInteger) {
		n, _ := sd.read(tagInteger)
		if c.MaxPathLen, ok = uintValue(n); !ok {
			return bad
		}
	}
	if len(sd) != 0 {
		return bad
	}
	c.BasicConstraints = true
	return nil
}

// keyUsage reads the BIT STRING's first nine bits.
func (c *Cert) keyUsage(d der) error {
	bs, ok := d.read(tagBitString)
	if !ok || len(d) != 0 {
		return errors.New("invalid key usage")
	}
	bits, _, ok := bitString(bs)
	if !ok {
		return errors.New("invalid key usage")
	}
	for i := 0; i < 9 && i/8 < len(bits); i++ {
		if bits[i/8]&(0x80>>(i%8)) != 0 {
			c.KeyUsage |= 1 << i
		}
	}
	return nil
}
