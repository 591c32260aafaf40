package hub

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLogRepeats(t *testing.T) {
	l := &logs{}
	a := New(Options{Log: l}, nil)
	for _, s := range []string{"x", "x", "x", "y", "y", "z"} {
		a.logf("%s", s)
	}
	assert.Equal(t, []string{"x", "hub: last message repeated 2 times", "y", "hub: last message repeated 1 times", "z"}, l.all())
}

func TestStateObjects(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		state string
		want  []object
		err   string
	}{
		{`{"#spec":"x","a/run.json":{"k":1},"a/root":"` + sha + `"}`, []object{{"a/root", sha}}, ""},
		{`{"#spec":"x"}`, nil, ""},
		{`{"a/root":1}`, nil, `object "a/root" is a number`},
		{`{"../x":"root::0:0"}`, nil, `object "../x": sha256`},
		{`{"a":"` + sha[:63] + `A"}`, nil, "lowercase hex"},
		{`[]`, nil, "want an object"},
		{`{"a":`, nil, "invalid JSON"},
	} {
		got, err := stateObjects([]byte(c.state))
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.state)
			continue
		}
		assert.NoError(t, err, c.state)
		assert.Equal(t, c.want, got, c.state)
	}
}
