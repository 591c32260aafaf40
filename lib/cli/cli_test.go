package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// define makes the same flags on ours and on a standard flag.FlagSet, and
// returns functions reading each side's values as one string.
func define(ours *Flags, std *flag.FlagSet) (oursValues, stdValues func() string) {
	var s1, s2, w1, w2 string
	var b1, b2, q1, q2 bool
	var d1, d2 time.Duration
	ours.StringVar(&s1, "storage", "/storage", "storage directory")
	std.StringVar(&s2, "storage", "/storage", "storage directory")
	ours.StringVar(&w1, "trust", "", "check against the store in `DIR`,\nline two")
	std.StringVar(&w2, "trust", "", "check against the store in `DIR`,\nline two")
	ours.BoolVar(&b1, "appengine", false, "run as a process")
	std.BoolVar(&b2, "appengine", false, "run as a process")
	ours.BoolVar(&q1, "q", true, "quiet")
	std.BoolVar(&q2, "q", true, "quiet")
	ours.DurationVar(&d1, "stop-timeout", 10*time.Second, "grace period")
	std.DurationVar(&d2, "stop-timeout", 10*time.Second, "grace period")
	ours.String("d", "", "a `DIR` with one letter")
	std.String("d", "", "a `DIR` with one letter")
	ours.String("x", "", "one letter, no word")
	std.String("x", "", "one letter, no word")
	show := func(s, w string, b, q bool, d time.Duration) string {
		return fmt.Sprint(s, "|", w, "|", b, "|", q, "|", d)
	}
	return func() string { return show(s1, w1, b1, q1, d1) },
		func() string { return show(s2, w2, b2, q2, d2) }
}

// TestLikeStdFlag holds Flags to package flag's behaviour, which scripts
// and the applets' tests were written against: values, remaining
// arguments, error messages and the option list.
func TestLikeStdFlag(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"a", "-q=false"},
		{"-storage", "/s", "--trust=/t", "x", "y"},
		{"--appengine", "-q=0", "--stop-timeout", "3s", "--", "-x"},
		{"-", "-q"},
		{"-appengine=maybe"},
		{"-stop-timeout", "soon"},
		{"-stop-timeout=1m30s", "-d=", "-x", "v"},
		{"-storage"},
		{"--bogus"},
		{"---storage", "x"},
		{"-=x"},
		{"-storage=a=b"},
		{"-h"},
		{"--help", "-bogus"},
		{"-q", "-q", "--storage", "1", "-storage", "2"},
	} {
		var outOurs, stderrOurs, outStd bytes.Buffer
		ours := NewFlags("app", help, &outOurs, &stderrOurs)
		std := flag.NewFlagSet("app", flag.ContinueOnError)
		std.SetOutput(&outStd)
		std.Usage = func() {}
		oursValues, stdValues := define(ours, std)

		err := ours.parse(args)
		stdErr := std.Parse(args)
		if stdErr == flag.ErrHelp {
			assert.Equal(t, errHelp, err, args)
		} else if stdErr != nil {
			require.Error(t, err, args)
			assert.Equal(t, outStd.String(), err.Error()+"\n", args)
		} else {
			require.NoError(t, err, args)
			assert.Equal(t, std.Args(), ours.Args(), args)
			std.Visit(func(f *flag.Flag) { assert.True(t, ours.IsSet(f.Name), "%v: %s", args, f.Name) })
			assert.Equal(t, std.NFlag(), countSet(ours), args)
		}
		assert.Equal(t, stdValues(), oursValues(), args)
	}

	var listOurs, listStd bytes.Buffer
	ours := NewFlags("app", help, &listOurs, io.Discard)
	std := flag.NewFlagSet("app", flag.ContinueOnError)
	std.SetOutput(&listStd)
	define(ours, std)
	ours.printOptions(&listOurs)
	std.PrintDefaults()
	assert.Equal(t, listStd.String(), listOurs.String())
}

func countSet(f *Flags) (n int) {
	for _, d := range f.defs {
		if d.given {
			n++
		}
	}
	return n
}

func TestArg(t *testing.T) {
	fs := NewFlags("app", help, io.Discard, io.Discard)
	_, done := fs.Parse([]string{"one", "two"})
	require.False(t, done)
	assert.Equal(t, 2, fs.NArg())
	assert.Equal(t, "two", fs.Arg(1))
	assert.Equal(t, "", fs.Arg(2), "past the end")
	assert.Equal(t, "", fs.Arg(-1))
	assert.False(t, fs.IsSet("nothing"))
}
