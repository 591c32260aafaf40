package meta

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/rawjson"
)

func TestAppendJSON(t *testing.T) {
	for _, c := range []struct {
		in   []Entry
		want string
	}{
		{nil, `{}`},
		{[]Entry{{"pantavisor.mode", "local"}}, `{"pantavisor.mode":"local"}`},
		{[]Entry{{"n", "3"}, {"b", "true"}, {"null", "null"}, {"s", `"q"`}},
			`{"n":"3","b":"true","null":"null","s":"\"q\""}`},
		{[]Entry{{"interfaces", " {\"eth0.ipv4\":[\"192.168.1.10\"]}\n"}, {"arr", "[1, 2]"}},
			`{"interfaces":{"eth0.ipv4":["192.168.1.10"]},"arr":[1, 2]}`},
		{[]Entry{{"bad", "{not json"}, {"esc", "a\tb\\c\n"}, {"empty", ""}},
			`{"bad":"{not json","esc":"a\tb\\c\n","empty":""}`},
		{[]Entry{{`k"q`, "v"}}, `{"k\"q":"v"}`},
	} {
		got := string(AppendJSON(nil, c.in))
		assert.Equal(t, c.want, got)
		v, err := rawjson.Parse([]byte(got))
		require.NoError(t, err, got)
		assert.Equal(t, rawjson.Object, v.Kind)
		assert.Len(t, v.Members, len(c.in))
	}
}

func TestDecodeObject(t *testing.T) {
	got, err := DecodeObject([]byte(`{"app/key":"v","pantahub.log.push":"0","obj":{"a": 1},"arr":[1],` +
		`"n":42,"t":true,"gone":null,"esc":"a\"b\u00e9","dup":"1","dup":"2"}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"app/key": "v", "pantahub.log.push": "0", "obj": `{"a": 1}`, "arr": "[1]",
		"n": "42", "t": "true", "esc": `a"bé`, "dup": "2",
	}, got)

	for _, in := range []string{``, `[]`, `"s"`, `{"a":}`, `{"a":1`} {
		_, err := DecodeObject([]byte(in))
		assert.Error(t, err, in)
	}
}

func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b","c":{"d":[1]}}`, `{"x":null}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeObject(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a valid object.
		var es []Entry
		for k, v := range m {
			es = append(es, Entry{k, v})
		}
		_, err = rawjson.Parse(AppendJSON(nil, es))
		if err != nil {
			t.Fatalf("re-encoding %q: %v", b, err)
		}
	})
}
