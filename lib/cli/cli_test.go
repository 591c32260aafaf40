package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

const help = "Usage: app [-v] ARG\n\nDo a thing.\n"

func TestParse(t *testing.T) {
	full := help + "\nOptions:\n  -v\tbe verbose\n"
	for _, tc := range []struct {
		args           []string
		code           int
		done           bool
		stdout, stderr string
	}{
		{[]string{"-v", "x"}, ExitOK, false, "", ""},
		{[]string{"--help"}, ExitOK, true, full, ""},
		{[]string{"-h"}, ExitOK, true, full, ""},
		{[]string{"--bogus"}, ExitUsage, true, "", "flag provided but not defined: -bogus\nusage: app [-v] ARG\n"},
	} {
		var out, errb bytes.Buffer
		fs := NewFlags("app", help, &out, &errb)
		v := fs.Bool("v", false, "be verbose")
		code, done := fs.Parse(tc.args)
		assert.Equal(t, tc.code, code, tc.args)
		assert.Equal(t, tc.done, done, tc.args)
		assert.Equal(t, tc.stdout, out.String(), tc.args)
		assert.Equal(t, tc.stderr, errb.String(), tc.args)
		if !done {
			assert.True(t, *v)
			assert.Equal(t, []string{"x"}, fs.Args())
		}
	}
}

func TestNoFlagsAndUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	fs := NewFlags("bare", "Usage: bare FILE\n", &out, &errb)
	fs.Parse([]string{"-h"})
	assert.Equal(t, "Usage: bare FILE\n", out.String(), "no Options: section without flags")
	assert.Equal(t, ExitUsage, fs.UsageError("want one FILE"))
	assert.Equal(t, "bare: want one FILE\nusage: bare FILE\n", errb.String())
}
