package rawjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKeepsRawBytesAndOrder(t *testing.T) {
	in := ` { "z" : [1, 2.5e3 ,"x"], "a":{"k":true,"n":null} ,"s":"q\"\u00e9\ud83d\ude00" } `
	v, err := Parse([]byte(in))
	require.NoError(t, err)
	require.Equal(t, Object, v.Kind)
	require.Len(t, v.Members, 3)
	assert.Equal(t, []string{"z", "a", "s"}, []string{v.Members[0].Key, v.Members[1].Key, v.Members[2].Key})
	assert.Equal(t, `[1, 2.5e3 ,"x"]`, string(v.Members[0].Value.Raw))
	assert.Equal(t, `{"k":true,"n":null}`, string(v.Members[1].Value.Raw))
	assert.Equal(t, `"q\"\u00e9\ud83d\ude00"`, string(v.Members[2].Value.Raw))
	assert.Equal(t, "q\"é😀", v.Members[2].Value.Str)
	assert.Equal(t, strings.TrimSpace(in), string(v.Raw))

	a, ok := v.Get("a")
	require.True(t, ok)
	k, _ := a.Get("k")
	assert.Equal(t, Bool, k.Kind)
	n, _ := a.Get("n")
	assert.Equal(t, Null, n.Kind)
	_, ok = v.Get("missing")
	assert.False(t, ok)

	z, _ := v.Get("z")
	i, err := z.Items[0].Int()
	require.NoError(t, err)
	assert.EqualValues(t, 1, i)
	_, err = z.Items[1].Int()
	assert.Error(t, err, "2.5e3 is not an integer literal")
	f, err := z.Items[1].Float()
	require.NoError(t, err)
	assert.Equal(t, 2500.0, f)
	_, err = z.Items[2].Int()
	assert.ErrorContains(t, err, "want a number, got string")
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "unexpected end of input"},
		{"{", "want a string key"},
		{`{"a" 1}`, "want ':' after key"},
		{`{"a":1,}`, "want a string key"},
		{`{"a":1 "b":2}`, "want ',' or '}'"},
		{`[1,]`, "unexpected character"},
		{`[1 2]`, "want ',' or ']'"},
		{`tru`, "want true"},
		{`nul`, "want null"},
		{`01`, "unexpected data after the value"},
		{`-`, "invalid number"},
		{`1.`, "want digits after '.'"},
		{`1e`, "want digits in exponent"},
		{`"abc`, "unterminated string"},
		{"\"a\x01\"", "control character"},
		{`"\x"`, "invalid escape"},
		{`"\u12"`, "invalid \\u escape"},
		{"\"\xff\"", "invalid UTF-8"},
		{`{} {}`, "unexpected data after the value"},
		{`'a'`, "unexpected character"},
		{strings.Repeat("[", MaxDepth+2), "nested too deeply"},
	} {
		_, err := Parse([]byte(tc.in))
		require.Error(t, err, "input %q", tc.in)
		assert.ErrorContains(t, err, tc.msg, "input %q", tc.in)
		assert.True(t, errors.Is(err, ErrSyntax), "input %q", tc.in)
	}
}

func TestLoneSurrogateBecomesReplacement(t *testing.T) {
	v, err := Parse([]byte(`"\ud800x"`))
	require.NoError(t, err)
	assert.Equal(t, "\ufffdx", v.Str)
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Invalid: "invalid", Null: "null", Bool: "boolean",
		Number: "number", String: "string", Array: "array", Object: "object", 42: "kind(42)"} {
		assert.Equal(t, want, k.String())
	}
}

func TestQuoteRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain/path.txt", "tab\there", "q\"b\\", "ctl\x01\x1f", "é😀", "bad\xffutf8"} {
		q := Quote(s)
		v, err := Parse([]byte(q))
		require.NoError(t, err, q)
		want := strings.ToValidUTF8(s, "\ufffd")
		assert.Equal(t, want, v.Str)
		var std string
		require.NoError(t, json.Unmarshal([]byte(q), &std))
		assert.Equal(t, want, std)
	}
	assert.Equal(t, `"a/b"`, Quote("a/b"), "slashes are not escaped")
	assert.Equal(t, "-12", string(AppendInt(nil, -12)))
}

// FuzzParse checks Parse against encoding/json: both accept the same inputs,
// and an accepted value's Raw re-parses to the same thing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `"x"`, `-0.5e+3`, `{"a":1,"a":2}`, `[1,2`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		stdOK := json.Valid(data)
		if err == nil && depth(v) <= MaxDepth && !stdOK {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		// We reject invalid UTF-8 inside strings on purpose (names become
		// paths); encoding/json replaces it, so only compare on valid UTF-8.
		if err != nil && stdOK && utf8.Valid(data) && !strings.Contains(err.Error(), "nested too deeply") {
			t.Fatalf("rejected valid JSON %q: %v", data, err)
		}
		if err == nil {
			again, err := Parse(v.Raw)
			if err != nil || string(again.Raw) != string(v.Raw) {
				t.Fatalf("raw %q does not re-parse: %v", v.Raw, err)
			}
		}
	})
}

func depth(v Value) int {
	d := 0
	for _, it := range v.Items {
		d = max(d, depth(it))
	}
	for _, m := range v.Members {
		d = max(d, depth(m.Value))
	}
	if v.Kind == Array || v.Kind == Object {
		return d + 1
	}
	return d
}
