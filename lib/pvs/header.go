package pvs

import (
	"errors"
	"strings"

	"pantavisor/lib/b64"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// Spec is the "#spec" of a signature value.
const Spec = "pvs@2"

// SigsPrefix starts the keys of the state that hold signatures; they are
// never required to be covered.
const SigsPrefix = "_sigs/"

// MaxChain is the longest x5c chain accepted, leaf included.
const MaxChain = 8

// ErrHeader is wrapped by every error about a signature's shape or header.
var ErrHeader error = &sentinel.Error{Text: "bad signature header"}

// Header is the decoded protected header of a pvs@2 signature.
type Header struct {
	Alg     string   // RS256, ES256, ES384 or ES512
	Include []string // pvs.include globs
	Exclude []string // pvs.exclude globs
	X5C     [][]byte // DER certificates, leaf first; nil: the device's key
}

// Signature is a parsed signature value of a state.
type Signature struct {
	Protected string // the header as written (base64url), part of the signing input
	Header    Header
	Sig       []byte // the decoded signature
}

// IsSignature reports whether v has the shape of a signature: an object
// whose "#spec" is "pvs@2".
func IsSignature(v rawjson.Value) bool {
	s, ok := v.Get("#spec")
	return v.Kind == rawjson.Object && ok && s.Kind == rawjson.String && s.Str == Spec
}

// ParseSignature reads a {"#spec":"pvs@2","protected":…,"signature":…}
// value. Members other than these three are refused, as is a missing one.
func ParseSignature(v rawjson.Value) (Signature, error) {
	if !IsSignature(v) {
		return Signature{}, printf.Errorf("%w: not a %s object", ErrHeader, Spec)
	}
	var sig Signature
	var prot, sg bool
	for _, m := range v.Members {
		switch m.Key {
		case "#spec":
		case "protected":
			if m.Value.Kind != rawjson.String || prot {
				return Signature{}, printf.Errorf("%w: \"protected\" is not one string", ErrHeader)
			}
			sig.Protected, prot = m.Value.Str, true
		case "signature":
			if m.Value.Kind != rawjson.String || sg {
				return Signature{}, printf.Errorf("%w: \"signature\" is not one string", ErrHeader)
			}
			raw, ok := b64.DecodeURL(m.Value.Str)
			if !ok || len(raw) == 0 {
				return Signature{}, printf.Errorf("%w: \"signature\" is not base64url", ErrHeader)
			}
			sig.Sig, sg = raw, true
		default:
			return Signature{}, printf.Errorf("%w: unknown member %q", ErrHeader, m.Key)
		}
	}
	if !prot || !sg {
		return Signature{}, printf.Errorf("%w: needs one \"protected\" and one \"signature\" string", ErrHeader)
	}
	raw, ok := b64.DecodeURL(sig.Protected)
	if !ok {
		return Signature{}, printf.Errorf("%w: \"protected\" is not base64url", ErrHeader)
	}
	h, err := ParseHeader(raw)
	if err != nil {
		return Signature{}, err
	}
	sig.Header = h
	return sig, nil
}

// ParseHeader parses a decoded protected header. It requires a known alg,
// typ "PVS" and a pvs object with at least one include; it refuses a
// "crit" member (RFC 7515 §4.1.11: extensions it does not understand) and
// an x5c longer than MaxChain. Other members (jwk, kid…) are ignored: the
// key comes from x5c or the device, never from the header itself.
func ParseHeader(data []byte) (Header, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return Header{}, printf.Errorf("%w: %w", ErrHeader, err)
	}
	if v.Kind != rawjson.Object {
		return Header{}, printf.Errorf("%w: not an object", ErrHeader)
	}
	var h Header
	seen := map[string]bool{}
	for _, m := range v.Members {
		if seen[m.Key] {
			return Header{}, printf.Errorf("%w: duplicate %q", ErrHeader, m.Key)
		}
		seen[m.Key] = true
		if err := h.member(m); err != nil {
			return Header{}, printf.Errorf("%w: %q: %w", ErrHeader, m.Key, err)
		}
	}
	switch {
	case hashOf(h.Alg) == 0:
		return Header{}, printf.Errorf("%w: unsupported alg %q", ErrHeader, h.Alg)
	case !seen["typ"]:
		return Header{}, printf.Errorf("%w: no typ", ErrHeader)
	case len(h.Include) == 0:
		return Header{}, printf.Errorf("%w: no pvs.include", ErrHeader)
	}
	return h, nil
}

func (h *Header) member(m rawjson.Member) error {
	switch m.Key {
	case "alg":
		if m.Value.Kind != rawjson.String {
			return errors.New("not a string")
		}
		h.Alg = m.Value.Str
	case "typ":
		if m.Value.Kind != rawjson.String || m.Value.Str != "PVS" {
			return errors.New(`want "PVS"`)
		}
	case "crit":
		return errors.New("critical extensions are not supported")
	case "pvs":
		return h.pvs(m.Value)
	case "x5c":
		return h.x5c(m.Value)
	}
	return nil
}

func (h *Header) pvs(v rawjson.Value) error {
	if v.Kind != rawjson.Object {
		return errors.New("not an object")
	}
	for _, m := range v.Members {
		var dst *[]string
		switch m.Key {
		case "include":
			dst = &h.Include
		case "exclude":
			dst = &h.Exclude
		default:
			return printf.Errorf("unknown member %q", m.Key)
		}
		if *dst != nil || m.Value.Kind != rawjson.Array {
			return printf.Errorf("%s: want one array of strings", m.Key)
		}
		*dst = []string{}
		for _, it := range m.Value.Items {
			if it.Kind != rawjson.String || strings.ContainsRune(it.Str, 0) {
				return printf.Errorf("%s: want one array of strings", m.Key)
			}
			*dst = append(*dst, it.Str)
		}
	}
	return nil
}

func (h *Header) x5c(v rawjson.Value) error {
	if v.Kind != rawjson.Array || len(v.Items) == 0 {
		return errors.New("want a non-empty array")
	}
	if len(v.Items) > MaxChain {
		return printf.Errorf("chain of %d certificates, at most %d", len(v.Items), MaxChain)
	}
	for i, it := range v.Items {
		der, ok := b64.DecodeStd(it.Str)
		if it.Kind != rawjson.String || !ok || len(der) == 0 {
			return printf.Errorf("certificate %d is not base64", i)
		}
		h.X5C = append(h.X5C, der)
	}
	return nil
}
