package pvs

import (
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/cert"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ClockFloor is the earliest time the device clock is believed when the
// binary carries no build date (buildinfo.Date): a clock before it is
// taken as unset.
const ClockFloor = "2026-12-01T00:00:00Z"

// TrustDir is where a device's trust stores are.
const TrustDir = "/etc/pantavisor/pvs/trust"

// Default file names in a trust directory (TrustDir).
const (
	CAFile    = "ca-certificates.crt"     // PV_SECUREBOOT_TRUSTSTORE + ".crt"
	OEMCAFile = "ca-oem-certificates.crt" // PV_SECUREBOOT_OEM_TRUSTSTORE + ".crt"
	PubFile   = "pub.pem"                 // key of signatures without x5c
)

// ErrUntrusted is wrapped when a signature's chain does not lead to the
// trust store, or it has no x5c and the device has no public key.
var ErrUntrusted error = &sentinel.Error{Text: "signer not trusted"}

// Trust is what a device trusts. The zero Trust trusts nothing.
type Trust struct {
	CA      []*cert.Cert     // roots for every signature
	OEMCA   []*cert.Cert     // roots for OEM signatures (see Check)
	OEMName string           // PV_OEM_NAME; empty: no OEM signatures
	PubKey  crypto.PublicKey // key of signatures without x5c; nil: refused
}

// LoadTrust reads a trust directory: the CA bundle ca (a file name in dir,
// e.g. CAFile), the OEM bundle oem and pub.pem. A missing file leaves its
// part empty; a file that does not parse is an error.
func LoadTrust(dir, ca, oem string) (Trust, error) {
	var t Trust
	var err error
	if t.CA, err = loadBundle(filepath.Join(dir, ca)); err != nil {
		return Trust{}, err
	}
	if t.OEMCA, err = loadBundle(filepath.Join(dir, oem)); err != nil {
		return Trust{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, PubFile))
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return Trust{}, printf.Errorf("reading public key: %w", err)
	}
	if t.PubKey, err = ParsePublicKey(data); err != nil {
		return Trust{}, printf.Errorf("%s: %w", filepath.Join(dir, PubFile), err)
	}
	return t, nil
}

func loadBundle(path string) ([]*cert.Cert, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, printf.Errorf("reading trust store: %w", err)
	}
	defer f.Close()
	certs, err := cert.ParseBundle(f)
	if err != nil {
		return nil, printf.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// ParsePublicKey reads a PEM "PUBLIC KEY" (PKIX) block.
func ParsePublicKey(data []byte) (crypto.PublicKey, error) {
	blocks, err := cert.PEMBlocks(data, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	return cert.ParsePublicKey(blocks[0])
}

// clock decides the time certificates are checked at: at when set; else
// now when it is later than the build date; else the latest NotBefore of
// certs, with untrusted true.
func clock(at, now time.Time, certs []*cert.Cert) (t time.Time, untrusted bool) {
	if !at.IsZero() {
		return at, false
	}
	floor, _ := time.Parse(time.RFC3339, ClockFloor)
	if d, err := time.Parse(time.RFC3339, buildinfo.Date); err == nil && d.After(floor) {
		floor = d
	}
	if now.After(floor) {
		return now, false
	}
	for _, c := range certs {
		if c.NotBefore.After(t) {
			t = c.NotBefore
		}
	}
	return t, true
}

// oemEligible reports whether a signature may chain to the OEM store: the
// device has an OEM name, the leaf's CN is that name, and none of the keys
// the signature vouches for is bsp, the OEM directory, or under them.
func oemEligible(oem string, leaf *cert.Cert, covered []string) bool {
	if oem == "" || leaf.CommonName != oem {
		return false
	}
	for _, k := range covered {
		for _, dir := range []string{"bsp", oem} {
			if k == dir || strings.HasPrefix(k, dir+"/") {
				return false
			}
		}
	}
	return true
}

// chainResult is what verifyChain found.
type chainResult struct {
	leaf      *cert.Cert
	names     []string  // common names, leaf first, root last
	at        time.Time // when the dates were checked
	untrusted bool      // at came from the certificates, not the clock
}

// verifyChain checks x5c (leaf first) against the roots trust allows for
// a signature covering covered, at the time clock picks.
func (t *Trust) verifyChain(x5c [][]byte, covered []string, at, now time.Time) (chainResult, error) {
	var r chainResult
	certs := make([]*cert.Cert, len(x5c))
	for i, der := range x5c {
		c, err := cert.Parse(der)
		if err != nil {
			return r, printf.Errorf("%w: x5c certificate %d: %w", ErrUntrusted, i, err)
		}
		certs[i] = c
	}
	r.leaf = certs[0]
	roots := t.CA
	if oemEligible(t.OEMName, r.leaf, covered) {
		roots = append(append([]*cert.Cert(nil), t.OEMCA...), t.CA...)
	}
	if len(roots) == 0 {
		return r, printf.Errorf("%w: empty trust store", ErrUntrusted)
	}
	r.at, r.untrusted = clock(at, now, certs)
	chain, err := cert.Verify(r.leaf, cert.Options{Roots: roots, Intermediates: certs[1:], At: r.at, MaxChain: MaxChain})
	if err != nil {
		return r, printf.Errorf("%w: %w", ErrUntrusted, err)
	}
	r.names = commonNames(chain)
	return r, nil
}

func commonNames(chain []*cert.Cert) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		out[i] = c.CommonName
		if out[i] == "" {
			out[i] = "(no common name)"
		}
	}
	return out
}
