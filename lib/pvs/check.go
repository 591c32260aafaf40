package pvs

import (
	"strings"
	"time"

	"pantavisor/lib/b64"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// The two refusals of upstream, with its texts: callers show them as
// "Secureboot: <reason>" and users grep for them.
var (
	ErrValidation error = &sentinel.Error{Text: "Signature validation failed"}           //nolint:staticcheck // upstream's text
	ErrNotCovered error = &sentinel.Error{Text: "State not fully covered by signatures"} //nolint:staticcheck // upstream's text
)

// Options says how Check judges a state. The zero Options is lenient mode
// with an empty trust store (any signature is refused; a state with none
// is accepted).
type Options struct {
	Mode  Mode
	Trust Trust
	// At checks certificate dates as of this time; zero: the clock, when
	// trusted (see the package comment).
	At time.Time
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// SigResult is the verdict on one signature.
type SigResult struct {
	Name  string   // the state key, e.g. "_sigs/bsp.json"
	Alg   string   // from the header; empty when it did not parse
	Keys  int      // pairs in the signed payload
	Chain []string // common names, leaf first; ["pub.pem"] without x5c
	Err   error    // nil: verified and trusted; else wraps ErrHeader, ErrCanonical, ErrBadSignature or ErrUntrusted
}

// Result is what Check found. Uncovered lists the keys (other than
// _sigs/*) that no signature vouches for, in state order; it is filled in
// audit and strict modes.
type Result struct {
	Mode           Mode
	Sigs           []SigResult
	Uncovered      []string
	ClockUntrusted bool      // dates were checked without a trusted clock
	At             time.Time // when dates were checked (zero: no chain checked)
}

// Check verifies every signature of state (a parsed state.json) and
// applies opts.Mode:
//  1. disabled: nothing is checked, the result is empty;
//  2. every top-level value that is a pvs@2 object, and every _sigs/* key,
//     is a signature: its header is parsed, its payload (the canonical
//     JSON of the pairs its includes match and its excludes do not) is
//     checked with the x5c leaf key (or Trust.PubKey) and the chain with
//     the trust store; any failure returns ErrValidation in every mode;
//  3. audit and strict: every key other than _sigs/* must be covered, i.e.
//     in a signature's payload or matched by both an include and an
//     exclude of the same signature (a part its signer deliberately left
//     out); strict returns ErrNotCovered, audit lists them in Uncovered.
//
// Upstream also counts a key matched only by an exclude as covered; that
// lets a signature mark anything as covered (an OEM signature excluding
// bsp/**), so Check does not. A state with a duplicate top-level key is
// refused. The Result is filled as far as Check got, also with an error.
func Check(state rawjson.Value, opts Options) (Result, error) {
	res := Result{Mode: opts.Mode}
	if opts.Mode == Disabled {
		return res, nil
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if state.Kind != rawjson.Object {
		return res, printf.Errorf("%w: state is not an object", ErrValidation)
	}
	if k, dup := duplicateKey(state.Members); dup {
		return res, printf.Errorf("%w: duplicate key %q", ErrValidation, k)
	}
	covered := map[string]bool{}
	var failed *SigResult
	for _, m := range state.Members {
		if !strings.HasPrefix(m.Key, SigsPrefix) && !IsSignature(m.Value) {
			continue
		}
		sr, keys := checkOne(state, m, &opts, &res)
		res.Sigs = append(res.Sigs, sr)
		for _, k := range keys {
			covered[k] = true
		}
	}
	for i := range res.Sigs {
		if res.Sigs[i].Err != nil && failed == nil {
			failed = &res.Sigs[i]
		}
	}
	if failed != nil {
		return res, printf.Errorf("%w: %s: %w", ErrValidation, failed.Name, failed.Err)
	}
	if !opts.Mode.needsCoverage() {
		return res, nil
	}
	for _, m := range state.Members {
		if !strings.HasPrefix(m.Key, SigsPrefix) && !covered[m.Key] {
			res.Uncovered = append(res.Uncovered, m.Key)
		}
	}
	if len(res.Uncovered) > 0 && opts.Mode == Strict {
		return res, printf.Errorf("%w: %d keys, first %q", ErrNotCovered, len(res.Uncovered), res.Uncovered[0])
	}
	return res, nil
}

// checkOne verifies the signature in m and returns its verdict and the
// keys it covers (nil when it failed).
func checkOne(state rawjson.Value, m rawjson.Member, opts *Options, res *Result) (SigResult, []string) {
	sr := SigResult{Name: m.Key}
	sig, err := ParseSignature(m.Value)
	if err != nil {
		sr.Err = err
		return sr, nil
	}
	sr.Alg = sig.Header.Alg
	payload, signed, covered, err := Payload(state, sig.Header)
	if err != nil {
		sr.Err = err
		return sr, nil
	}
	sr.Keys = len(signed)
	key := opts.Trust.PubKey
	sr.Chain = []string{PubFile}
	if sig.Header.X5C != nil {
		cr, err := opts.Trust.verifyChain(sig.Header.X5C, covered, opts.At, opts.Now())
		res.ClockUntrusted = res.ClockUntrusted || cr.untrusted
		res.At = cr.at
		sr.Chain = cr.names
		if err != nil {
			sr.Err = err
			return sr, nil
		}
		key = cr.leaf.PublicKey
	} else if key == nil {
		sr.Err = printf.Errorf("%w: no x5c and no device public key (%s)", ErrUntrusted, PubFile)
		return sr, nil
	}
	input := b64.AppendURL(append([]byte(sig.Protected), '.'), payload)
	if sr.Err = VerifyJWS(sig.Header.Alg, key, input, sig.Sig); sr.Err != nil {
		return sr, nil
	}
	return sr, covered
}

// Payload returns the signed payload of a signature with header h over
// state: the canonical JSON object of the pairs some include matches and
// no exclude matches. signed lists those keys; covered adds the keys an
// include and an exclude both match, in state order.
func Payload(state rawjson.Value, h Header) (payload []byte, signed, covered []string, err error) {
	var pairs []rawjson.Member
	for _, m := range state.Members {
		if !matchAny(h.Include, m.Key) {
			continue
		}
		covered = append(covered, m.Key)
		if !matchAny(h.Exclude, m.Key) {
			pairs = append(pairs, m)
			signed = append(signed, m.Key)
		}
	}
	payload, err = appendObject(nil, pairs)
	return payload, signed, covered, err
}

func matchAny(patterns []string, key string) bool {
	for _, p := range patterns {
		if Match(p, key) {
			return true
		}
	}
	return false
}

func duplicateKey(members []rawjson.Member) (string, bool) {
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if seen[m.Key] {
			return m.Key, true
		}
		seen[m.Key] = true
	}
	return "", false
}
