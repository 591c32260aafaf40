package pvs

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/rawjson"
)

// TestAppendCanonical's expected bytes follow canonicaljson-spec
// (https://github.com/gibson042/canonicaljson-spec, "Definition") and
// canonicaljson-go's encoder (escapes, uppercase hex, number rules).
func TestAppendCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Strings: only '"', '\\' and controls are escaped; short escapes first.
		{`"a\"b\\c"`, `"a\"b\\c"`},
		{`"\/"`, `"/"`},
		{`"\u0008\u0009\u000a\u000c\u000d"`, `"\b\t\n\f\r"`},
		{`"\u0000\u001f\u000b\u001B"`, `"\u0000\u001F\u000B\u001B"`},
		{`"\u007f"`, "\"\x7f\""},
		{`"\u00e9 é"`, `"é é"`},
		{`"\ud83d\ude03"`, `"😃"`},
		{`"\u2028\u2029"`, "\"\u2028\u2029\""},
		{`"<>&"`, `"<>&"`},
		{`"\udead"`, "\"\uFFFD\""}, // rawjson (like encoding/json) decodes a lone surrogate to U+FFFD
		// Integers: no sign for zero, no point, no exponent.
		{`0`, `0`}, {`-0`, `0`}, {`0.0`, `0`}, {`-0.00`, `0`}, {`0e5`, `0`}, {`0E-1`, `0`},
		{`1.0`, `1`}, {`4.20e1`, `42`}, {`0.420e2`, `42`}, {`80E-1`, `8`}, {`-80.0E-1`, `-8`},
		{`2550e-1`, `255`}, {`1E2`, `100`}, {`1e+2`, `100`}, {`1e02`, `100`}, {`-7`, `-7`},
		{`18446744073709551617`, `18446744073709551617`}, // no float64 rounding
		{`184467440737095516170e-01`, `18446744073709551617`},
		{`1e40`, `1` + strings.Repeat("0", 40)},
		// Non-integers: d.dddE±n, capital E, no '+', no padding zeros.
		{`0.1`, `1.0E-1`}, {`10.1`, `1.01E1`}, {`3.14`, `3.14E0`}, {`31.4E-1`, `3.14E0`},
		{`0.314E1`, `3.14E0`}, {`11E-3`, `1.1E-2`}, {`-0.5`, `-5.0E-1`}, {`1E-1000`, `1.0E-1000`},
		{`123.456e2`, `1.23456E4`}, {`0.000120`, `1.2E-4`}, {`2.50E+01`, `25`}, {`2.55E+01`, `2.55E1`},
		// Literals, arrays, objects: no whitespace, members sorted by code point.
		{` [ true , false , null ] `, `[true,false,null]`},
		{`{"b":1,"a":2,"":0}`, `{"":0,"a":2,"b":1}`},
		{`{"é":1,"z":2,"Z":3,"😃":4,"\uffff":5}`, `{"Z":3,"z":2,"é":1,"` + "\uffff" + `":5,"😃":4}`},
		{`{ "a" : [ 1 , { "d" : true , "c" : null } ] , "b" : "x" }`, `{"a":[1,{"c":null,"d":true}],"b":"x"}`},
		{`{}`, `{}`}, {`[]`, `[]`}, {`{"a":{}}`, `{"a":{}}`},
	} {
		v, err := rawjson.Parse([]byte(tc.in))
		require.NoError(t, err, tc.in)
		got, err := AppendCanonical(nil, v)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, string(got), tc.in)
	}
}

func TestAppendCanonicalRefuses(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"a":2}`,         // which one did the signer see?
		`[{"x":{"a":1,"a":1}}]`, // also nested and equal
		`1e1001`,                // more than maxZeros zeros
		`1e99999999999`,         // exponent beyond int32
	} {
		v, err := rawjson.Parse([]byte(in))
		require.NoError(t, err, in)
		_, err = AppendCanonical(nil, v)
		assert.True(t, errors.Is(err, ErrCanonical), "%s: %v", in, err)
	}
}

// FuzzCanonical checks, for every input rawjson accepts, that the canonical
// form is valid JSON, has no whitespace outside strings, means the same as
// the input to encoding/json, and is a fixed point.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":[1,2.50e1,-0],"a":"\u0001x"}`, `"\ud800"`, `1E-7`, `{"é":{"z":null}}`, `[0.0001]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := rawjson.Parse(in)
		if err != nil {
			return
		}
		out, err := AppendCanonical(nil, v)
		if err != nil {
			return
		}
		require.True(t, json.Valid(out), "%q -> %q", in, out)
		var a, b any
		da := json.NewDecoder(bytes.NewReader(in))
		da.UseNumber()
		db := json.NewDecoder(bytes.NewReader(out))
		db.UseNumber()
		if da.Decode(&a) == nil && db.Decode(&b) == nil {
			assert.Equal(t, normalise(a), normalise(b), "%q -> %q", in, out)
		}
		v2, err := rawjson.Parse(out)
		require.NoError(t, err)
		again, err := AppendCanonical(nil, v2)
		require.NoError(t, err)
		require.Equal(t, string(out), string(again))
	})
}

// normalise turns json.Numbers into canonical text so "1.0" and "1" compare
// equal; it trusts appendNumber for that, which the table above pins.
func normalise(v any) any {
	switch x := v.(type) {
	case json.Number:
		out, err := appendNumber(nil, []byte(x))
		if err != nil {
			return string(x)
		}
		return string(out)
	case []any:
		for i := range x {
			x[i] = normalise(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalise(x[k])
		}
	}
	return v
}
