package sysinfo

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseUptime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		err  string // substring of the error; empty: no error
	}{
		{in: "123.45 67.89\n", want: 123*time.Second + 450*time.Millisecond},
		{in: "42 10\n", want: 42 * time.Second},
		{in: "0.01 0.00\n", want: 10 * time.Millisecond},
		{in: "  7.5\n", want: 7500 * time.Millisecond},
		{in: "garbage 1.0\n", err: `parsing uptime "garbage": not a number of seconds`},
		{in: "-1.5 2\n", err: "not a number of seconds"},
		{in: "NaN 1\n", err: "not a number of seconds"},
		{in: "Inf 1\n", err: "not a number of seconds"},
		{in: "1e300 1\n", err: "not a number of seconds"},
		{in: "", err: "empty"},
		{in: " \n", err: "empty"},
	} {
		got, err := ParseUptime(strings.NewReader(c.in))
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, "%q", c.in)
			continue
		}
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, got, "%q", c.in)
	}
}

func TestParseUptimeReadError(t *testing.T) {
	cause := errors.New("disk on fire")
	_, err := ParseUptime(iotest.ErrReader(cause))
	assert.ErrorIs(t, err, cause)
}

func TestUptimeAndUname(t *testing.T) {
	up, err := Uptime()
	require.NoError(t, err)
	assert.Positive(t, up)
	k, err := Uname()
	require.NoError(t, err)
	assert.NotEmpty(t, k.Release)
	assert.NotEmpty(t, k.Machine)
}

func FuzzParseUptime(f *testing.F) {
	for _, s := range []string{"123.45 67.89\n", "0 0", "", "1e300", "-0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParseUptime(strings.NewReader(string(in)))
		if err == nil && d < 0 {
			t.Fatalf("ParseUptime(%q) = %v, negative", in, d)
		}
	})
}
