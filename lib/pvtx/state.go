package pvtx

import (
	"strings"

	"pantavisor/lib/b64"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// EmptyState is the state a transaction begun from "empty" holds.
const EmptyState = `{"#spec":"` + state.SpecSystem1 + `"}`

const (
	specKey    = "#spec"
	sigsPrefix = "_sigs/"
	confPrefix = "_config/"
)

// State is a state JSON being edited: its top-level members in order
// (without "#spec", which every written state starts with) and, until the
// first change, the bytes it was read from.
type State struct {
	members []rawjson.Member
	raw     []byte // nil once changed
	pats    [][]string
	all     []string
	allDone bool
}

// ParseState parses a state JSON object. Its "#spec" member is dropped:
// Bytes writes "#spec":"pantavisor-service-system@1" first, as upstream.
//
// Deviation: upstream drops the first member whatever its name (it assumes
// "#spec" comes first); this drops the member named "#spec" wherever it is,
// so a state written in another order loses nothing.
func ParseState(data []byte) (*State, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return nil, printf.Errorf("parsing state json: %w", err)
	}
	if v.Kind != rawjson.Object {
		return nil, printf.Errorf("parsing state json: %w: a %s, not an object", rawjson.ErrSyntax, v.Kind)
	}
	s := &State{raw: data}
	for _, m := range v.Members {
		if m.Key != specKey {
			s.members = append(s.members, m)
		}
	}
	return s, nil
}

// Bytes returns the state JSON: the bytes it was parsed from while it is
// unchanged, else the members written compactly after the "#spec" member.
func (s *State) Bytes() []byte {
	if s.raw != nil {
		return s.raw
	}
	b := append(make([]byte, 0, 64+len(s.members)*64), EmptyState[:len(EmptyState)-1]...)
	for _, m := range s.members {
		b = append(b, ',')
		b = rawjson.AppendString(b, m.Key)
		b = append(b, ':')
		b = append(b, m.Value.Raw...)
	}
	return append(b, '}')
}

// Keys returns the member names in order, without "#spec".
func (s *State) Keys() []string {
	keys := make([]string, len(s.members))
	for i, m := range s.members {
		keys[i] = m.Key
	}
	return keys
}

// Add merges src into s as upstream's pv_pvtx_state_add does. Steps: for
// every key K of src, mark the keys of s that Remove(K) would remove (keys
// starting with K, and those of the signature that K names); drop them;
// then merge the two member lists by key, as the merge step of a merge
// sort (both are sorted when pvr wrote them).
func (s *State) Add(src *State) {
	rm := make([]bool, len(s.members))
	for _, m := range src.members {
		s.mark(m.Key, rm)
	}
	kept := s.filter(rm)
	out := make([]rawjson.Member, 0, len(kept)+len(src.members))
	i, j := 0, 0
	for i < len(kept) || j < len(src.members) {
		if j < len(src.members) && (i == len(kept) || src.members[j].Key < kept[i].Key) {
			out = append(out, src.members[j])
			j++
		} else {
			out = append(out, kept[i])
			i++
		}
	}
	s.set(out)
}

// Remove removes part from s: part is a key prefix ("nginx"), a signature
// ("_sigs/nginx.json") or a config ("_config/nginx"). Every key starting
// with part goes, and so does every key matched by the patterns of the
// first signature _sigs/X where X starts with part (without its "_sigs/"
// or "_config/" prefix) — unless more patterns of all the signatures of s
// match it than patterns of part: such a key is shared with another signed
// package and stays. It reports whether anything was removed.
func (s *State) Remove(part string) bool {
	rm := make([]bool, len(s.members))
	if !s.mark(part, rm) {
		return false
	}
	s.set(s.filter(rm))
	return true
}

// mark sets rm[i] for each member i that removing part removes (see
// Remove) and reports whether it set any.
func (s *State) mark(part string, rm []bool) bool {
	pats := []string{part}
	ptr := part
	if p, ok := strings.CutPrefix(part, confPrefix); ok {
		ptr = p
	} else if p, ok := strings.CutPrefix(part, sigsPrefix); ok {
		ptr = p
	}
	for i, m := range s.members {
		x, ok := strings.CutPrefix(m.Key, sigsPrefix)
		if ok && x != "" && strings.HasPrefix(x, ptr) {
			pats = append(pats, s.patterns(i)...)
			break
		}
	}
	all := s.allPatterns()
	found := false
	for i, m := range s.members {
		n := countMatches(pats, m.Key)
		if n < 1 || countMatches(all, m.Key) > n {
			continue
		}
		rm[i], found = true, true
	}
	return found
}

func (s *State) filter(rm []bool) []rawjson.Member {
	out := make([]rawjson.Member, 0, len(s.members))
	for i, m := range s.members {
		if !rm[i] {
			out = append(out, m)
		}
	}
	return out
}

func (s *State) set(members []rawjson.Member) {
	s.members, s.raw = members, nil
	s.pats, s.all, s.allDone = nil, nil, false
}

// patterns returns the patterns of signature member i (cached).
func (s *State) patterns(i int) []string {
	if s.pats == nil {
		s.pats = make([][]string, len(s.members))
	}
	if s.pats[i] == nil {
		s.pats[i] = append([]string{}, sigPatterns(s.members[i].Value)...)
	}
	return s.pats[i]
}

// allPatterns returns the patterns of every signature of s, duplicates
// included (upstream counts them).
func (s *State) allPatterns() []string {
	if !s.allDone {
		for i, m := range s.members {
			if strings.HasPrefix(m.Key, sigsPrefix) {
				s.all = append(s.all, s.patterns(i)...)
			}
		}
		s.allDone = true
	}
	return s.all
}

func countMatches(pats []string, key string) int {
	n := 0
	for _, p := range pats {
		if strings.HasPrefix(key, p) {
			n++
		}
	}
	return n
}

// sigPatterns returns the key prefixes a signature covers: the strings of
// every "include*" and "exclude*" array of its base64url-decoded JWS
// "protected" header, each cut at its first '*'. A signature that cannot
// be decoded covers nothing, as upstream.
func sigPatterns(sig rawjson.Value) []string {
	p, ok := sig.Get("protected")
	if !ok || p.Kind != rawjson.String {
		return nil
	}
	dec, ok := b64.DecodeURL(strings.TrimRight(p.Str, "="))
	if !ok {
		return nil
	}
	hdr, err := rawjson.Parse(dec)
	if err != nil {
		return nil
	}
	var out []string
	collectPatterns(hdr, &out)
	return out
}

func collectPatterns(v rawjson.Value, out *[]string) {
	for _, m := range v.Members {
		if m.Value.Kind == rawjson.Array && (strings.HasPrefix(m.Key, "include") || strings.HasPrefix(m.Key, "exclude")) {
			for _, it := range m.Value.Items {
				if it.Kind == rawjson.String {
					p, _, _ := strings.Cut(it.Str, "*")
					*out = append(*out, p)
				}
			}
			continue
		}
		collectPatterns(m.Value, out)
	}
	for _, it := range v.Items {
		collectPatterns(it, out)
	}
}
