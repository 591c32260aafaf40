package pvs

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/rawjson"
)

func TestParseHeader(t *testing.T) {
	h, err := ParseHeader([]byte(`{"alg":"ES512","jwk":{"kty":"EC"},"pvs":{"include":["a/**","#spec"],"exclude":["a/src.json"]},"typ":"PVS","x5c":["MIIB","AAAA"]}`))
	require.NoError(t, err)
	assert.Equal(t, Header{Alg: "ES512", Include: []string{"a/**", "#spec"}, Exclude: []string{"a/src.json"}, X5C: [][]byte{{0x30, 0x82, 0x01}, {0, 0, 0}}}, h)

	for _, bad := range []string{
		``, `[]`, `{"alg":"RS256","typ":"PVS"}`, // no include
		`{"alg":"HS256","typ":"PVS","pvs":{"include":["**"]}}`, // not a signature alg
		`{"alg":"none","typ":"PVS","pvs":{"include":["**"]}}`,
		`{"alg":"RS256","pvs":{"include":["**"]}}`,             // no typ
		`{"alg":"RS256","typ":"JWT","pvs":{"include":["**"]}}`, // wrong typ
		`{"alg":"RS256","alg":"ES256","typ":"PVS","pvs":{"include":["**"]}}`,
		`{"alg":"RS256","typ":"PVS","crit":["x"],"pvs":{"include":["**"]}}`,
		`{"alg":"RS256","typ":"PVS","pvs":{"include":"**"}}`,
		`{"alg":"RS256","typ":"PVS","pvs":{"include":[1]}}`,
		`{"alg":"RS256","typ":"PVS","pvs":{"include":["**"],"include":["a"]}}`,
		`{"alg":"RS256","typ":"PVS","pvs":{"include":["**"],"other":[]}}`,
		`{"alg":"RS256","typ":"PVS","pvs":{"include":["**"]},"x5c":[]}`,
		`{"alg":"RS256","typ":"PVS","pvs":{"include":["**"]},"x5c":["MIIB-_=="]}`, // base64url, not base64
		`{"alg":"RS256","typ":"PVS","pvs":{"include":["**"]},"x5c":["AAAA","AAAA","AAAA","AAAA","AAAA","AAAA","AAAA","AAAA","AAAA"]}`,
	} {
		_, err := ParseHeader([]byte(bad))
		assert.True(t, errors.Is(err, ErrHeader), "%s: %v", bad, err)
	}
}

func TestParseSignature(t *testing.T) {
	const prot = "eyJhbGciOiJSUzI1NiIsInB2cyI6eyJpbmNsdWRlIjpbIioqIl19LCJ0eXAiOiJQVlMifQ" // {"alg":"RS256","pvs":{"include":["**"]},"typ":"PVS"}
	v, err := rawjson.Parse([]byte(`{"#spec":"pvs@2","protected":"` + prot + `","signature":"AQID"}`))
	require.NoError(t, err)
	sig, err := ParseSignature(v)
	require.NoError(t, err)
	assert.Equal(t, prot, sig.Protected)
	assert.Equal(t, []byte{1, 2, 3}, sig.Sig)
	assert.Equal(t, "RS256", sig.Header.Alg)
	for _, bad := range []string{
		`"x"`, `{"#spec":"pvs@1","protected":"` + prot + `","signature":"AQID"}`,
		`{"#spec":"pvs@2","signature":"AQID"}`,
		`{"#spec":"pvs@2","protected":"` + prot + `"}`,
		`{"#spec":"pvs@2","protected":"` + prot + `","signature":""}`,
		`{"#spec":"pvs@2","protected":"` + prot + `","signature":"AQID","signature":"AQID"}`,
		`{"#spec":"pvs@2","protected":"` + prot + `","protected":"` + prot + `","signature":"AQID"}`,
		`{"#spec":"pvs@2","protected":"` + prot + `","signature":"AQ+D"}`,
		`{"#spec":"pvs@2","protected":"` + prot + `=","signature":"AQID"}`,
		`{"#spec":"pvs@2","protected":"` + prot + `","signature":"AQID","extra":1}`,
		`{"#spec":"pvs@2","protected":1,"protected":"` + prot + `","signature":"AQID"}`,
	} {
		v, err := rawjson.Parse([]byte(bad))
		require.NoError(t, err, bad)
		_, err = ParseSignature(v)
		assert.ErrorIs(t, err, ErrHeader, bad)
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"disabled": Disabled, "audit": Audit, "lenient": Lenient, "strict": Strict} {
		got, err := ParseMode(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
		assert.Equal(t, s, got.String())
	}
	for _, s := range []string{"", "Strict", "enforce", "lenient "} {
		_, err := ParseMode(s)
		assert.ErrorIs(t, err, ErrMode, s)
	}
	assert.Equal(t, Lenient, Mode(0), "the zero Mode is upstream's default")
	assert.Equal(t, "mode(9)", Mode(9).String())
}

// FuzzParseHeader checks that no header panics, and that an accepted one
// has a supported alg, an include list and a bounded chain.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		`{"alg":"RS256","pvs":{"include":["**"],"exclude":["_sigs/x.json"]},"typ":"PVS","x5c":["AAAA"]}`,
		`{"alg":"ES384","typ":"PVS","pvs":{"include":[]}}`, `{"crit":[]}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			require.ErrorIs(t, err, ErrHeader)
			return
		}
		require.NotZero(t, hashOf(h.Alg))
		require.NotEmpty(t, h.Include)
		require.LessOrEqual(t, len(h.X5C), MaxChain)
	})
}

// FuzzPayload checks that no state and header make Payload panic, that the
// signed keys are a subset of the covered ones, and that the payload is
// canonical (a fixed point).
func FuzzPayload(f *testing.F) {
	f.Add([]byte(`{"#spec":"x","a/b":{"z":1,"y":[2.0]},"a/src.json":"s","_sigs/a.json":{}}`), "a/**", "a/src.json")
	f.Add([]byte(`{"x":1,"x":2}`), "**", "")
	f.Fuzz(func(t *testing.T, state []byte, include, exclude string) {
		v, err := rawjson.Parse(state)
		if err != nil {
			return
		}
		payload, signed, covered, err := Payload(v, Header{Include: []string{include}, Exclude: []string{exclude}})
		if err != nil {
			require.ErrorIs(t, err, ErrCanonical)
			return
		}
		require.LessOrEqual(t, len(signed), len(covered))
		for _, k := range signed {
			require.True(t, Match(include, k) && !Match(exclude, k))
		}
		p, err := rawjson.Parse(payload)
		require.NoError(t, err)
		again, err := AppendCanonical(nil, p)
		require.NoError(t, err)
		require.Equal(t, string(payload), string(again))
	})
}
