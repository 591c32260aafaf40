package hub

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStrftimeLayout(t *testing.T) {
	for _, tc := range []struct {
		f, layout string
		ok        bool
	}{
		{"%a", "Mon", true}, {"%A", "Monday", true}, {"%b", "Jan", true}, {"%B", "January", true},
		{"%d", "02", true}, {"%e", "_2", true}, {"%F", "2006-01-02", true}, {"%H", "15", true},
		{"%I", "03", true}, {"%j", "002", true}, {"%m", "01", true}, {"%M", "04", true},
		{"%p", "PM", true}, {"%S", "05", true}, {"%T", "15:04:05", true}, {"%y", "06", true},
		{"%Y", "2006", true}, {"%z", "-0700", true}, {"%Z", "MST", true}, {"%%", "%", true},
		{"%F %T.%N", "2006-01-02 15:04:05.000000000", true},
		{"%T,%N", "15:04:05,000000000", true},
		{"%N", "", false},      // not after '.' or ','
		{"%T%N", "", false},    // idem
		{"%s %T", "", false},   // %s is only accepted alone (newTimeParser)
		{"%q", "", false},      // unknown
		{"at %", "at %", true}, // a trailing '%' is literal
	} {
		layout, ok := strftimeLayout(tc.f)
		assert.Equal(t, tc.ok, ok, tc.f)
		if tc.ok {
			assert.Equal(t, tc.layout, layout, tc.f)
		}
	}
}

func TestNewTimeParser(t *testing.T) {
	assert.Nil(t, newTimeParser("", nil))
	assert.Nil(t, newTimeParser("other:%T", nil))
	assert.Nil(t, newTimeParser("strftime:%T%N", nil))
	assert.Nil(t, newTimeParser("golang:", nil))
	p := newTimeParser("strftime:%s", time.UTC)
	require.NotNil(t, p)
	got, ok := p.parse("1800000000")
	assert.True(t, ok)
	assert.Equal(t, int64(1800000000), got.Unix())
	_, ok = p.parse("x")
	assert.False(t, ok)
}

func TestLineTime(t *testing.T) {
	utc := time.UTC
	when := time.Date(2026, 12, 7, 3, 0, 1, 123456789, utc)
	golang := newTimeParser("golang:2006-01-02 15:04:05.000000000", utc)
	strf := newTimeParser("strftime:%F %T.%N", utc)
	for _, tc := range []struct {
		name     string
		line     string
		pv       bool
		tf       *timeParser
		absolute bool
		want     time.Time
		ok       bool
		lvl      string
	}{
		{"pv with ts", "[pantavisor] [2026-12-07 03:00:01.123456789] 12 WARN\t -- [pantavisor]: hi", true, golang, false, when, true, "WARN"},
		{"pv strftime ts", "[pantavisor] [2026-12-07 03:00:01.123456789] 12 ERROR\t -- [x]: hi", true, strf, false, when, true, "ERROR"},
		{"pv relative", "[pantavisor] 12 DEBUG\t -- [pantavisor]: hi", true, nil, false, time.Time{}, false, "DEBUG"},
		{"pv absolute", "[pantavisor] 1800000000 INFO\t -- [pantavisor]: hi", true, nil, true, time.Unix(1800000000, 0), true, "INFO"},
		{"pv ts wins over absolute", "[pantavisor] [2026-12-07 03:00:01.123456789] 1800000000 INFO\t -- [p]: hi", true, golang, true, when, true, "INFO"},
		{"pv bad ts", "[pantavisor] [yesterday] 5 TRACE\t -- [p]: hi", true, golang, false, time.Time{}, false, ""},
		{"pv level number not a name", "[pantavisor] 5 3\t -- [p]: hi", true, nil, false, time.Time{}, false, ""},
		{"pv unknown level", "[pantavisor] 5 LOUD\t -- [p]: hi", true, nil, false, time.Time{}, false, ""},
		{"not pv format", "hello", true, golang, true, time.Time{}, false, ""},
		{"container ts", "[2026-12-07 03:00:01.123456789] hello", false, golang, false, when, true, ""},
		{"container no parser", "[2026-12-07 03:00:01.123456789] hello", false, nil, true, time.Time{}, false, ""},
		{"container bracket text", "[  OK  ] Started", false, golang, false, time.Time{}, false, ""},
		{"container plain", "hello", false, golang, false, time.Time{}, false, ""},
		{"empty", "", false, golang, false, time.Time{}, false, ""},
	} {
		got, ok, lvl := lineTime([]byte(tc.line), tc.pv, tc.tf, tc.absolute)
		assert.Equal(t, tc.ok, ok, tc.name)
		if tc.ok {
			assert.True(t, tc.want.Equal(got), "%s: %v, want %v", tc.name, got, tc.want)
		}
		assert.Equal(t, tc.lvl, lvl, tc.name)
	}
}

func TestPositionEncoding(t *testing.T) {
	p := position{rel: "1/app/var/log/messages", ino: 1234, off: 99, headLen: 64, head: 0xfeedbeef}
	got, err := parsePosition(p.encode())
	require.NoError(t, err)
	assert.Equal(t, p, got)
	for _, bad := range []string{"", "1 2 3 4\n", "1 2 3\nrel\n", "x 2 3 4\nrel\n", "1 -2 3 4\nrel\n",
		"1 2 65 4\nrel\n", "1 2 3 zz\nrel\n", "1 2 3 4 5\nrel\n"} {
		_, err := parsePosition([]byte(bad))
		assert.ErrorIs(t, err, errBadPosition, "%q", bad)
	}
}
