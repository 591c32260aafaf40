package logs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFormats(t *testing.T) {
	pv := &entry{Message: &Message{Proto: Raw, Level: Info, Platform: Pantavisor, Source: "engine", Data: []byte("one\n\ntwo\r\n")}, tsec: 42}
	assert.Equal(t, "[pantavisor] 42 INFO\t -- [engine]: one\n[pantavisor] 42 INFO\t -- [engine]: two\n", string(appendPV(nil, pv, "")))
	assert.Equal(t, "[pantavisor] [T] 42 INFO\t -- [engine]: one\n[pantavisor] [T] 42 INFO\t -- [engine]: two\n", string(appendPV(nil, pv, "T")))

	kv := &entry{Message: &Message{Proto: KV, Level: Warn, Platform: "app", Source: "s", Data: []byte(`say "hi"`)}, tsec: 7}
	assert.Equal(t, "say \"hi\"\n", string(appendRaw(nil, kv, "")))
	assert.Equal(t, "[T] say \"hi\"\n", string(appendRaw(nil, kv, "T")))
	leg := &entry{Message: &Message{Proto: Legacy, Data: []byte("as is")}}
	assert.Equal(t, "as is", string(appendRaw(nil, leg, "")))

	assert.Equal(t, `{"tsec":7,"tnano":0,"platform":"app","lvl":"WARN","src":"s","msg":"say \"hi\""}`+"\n", string(appendJSONLines(nil, kv, "")))
	assert.Equal(t, `{"tsec":7,"tnano":0,"ts":"T","platform":"app","lvl":"WARN","src":"s","msg":"say \"hi\""}`+"\n", string(appendJSONLines(nil, kv, "T")))
}

func TestFormatTime(t *testing.T) {
	tm := time.Date(2024, 3, 7, 15, 4, 5, 123456789, time.UTC)
	tests := []struct{ spec, want string }{
		{"", ""},
		{"golang:2006-01-02T15:04:05Z07:00", "2024-03-07T15:04:05Z"},
		{"strftime:%Y-%m-%d %H:%M:%S", "2024-03-07 15:04:05"},
		{"strftime:%F %T.%N %z %Z", "2024-03-07 15:04:05.123456789 +0000 UTC"},
		{"strftime:%a %A %b %B %e %I%p %j %y %s %% %q", "Thu Thursday Mar March  7 03PM 067 24 1709823845 % %q"},
		{"strftime:%", "%"},
		{"bogus:%Y", "--"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, FormatTime(tt.spec, tm), tt.spec)
	}
}

func TestKmsgLine(t *testing.T) {
	tests := []struct {
		in    string
		level Level
		want  string
	}{
		{"6,339,5140900,-;NET: Registered protocol family 10", Info, "[    5.140900] NET: Registered protocol family 10"},
		{"3,1,0,-;oops", Error, "[    0.000000] oops"},
		{"7,2,123456789012,c;x", Debug, "[123456.789012] x"},
		{" SUBSYSTEM=acpi", Info, ""},
		{"no header", Info, "no header"},
		{"x,y,z;bad numbers", Info, "x,y,z;bad numbers"},
	}
	for _, tt := range tests {
		l, out := kmsgLine([]byte(tt.in))
		assert.Equal(t, tt.level, l, tt.in)
		assert.Equal(t, tt.want, string(out), tt.in)
	}
}

func TestCleanSource(t *testing.T) {
	tests := []struct{ in, want string }{
		{"syslog", "syslog"},
		{"lxc/console.log", "lxc/console.log"},
		{"/var/log/messages", "var/log/messages"},
		{"a//b/./c/", "a/b/c"},
		{"./x", "x"},
		{"..", ""},
		{"../../etc/passwd", ""},
		{"a/../../b", ""},
		{"/", ""},
		{"", ""},
		{"nul\x00byte", ""},
		{string(make([]byte, 256)), ""},
	}
	for _, tt := range tests {
		got, err := cleanSource(tt.in)
		if tt.want == "" {
			assert.ErrorIs(t, err, ErrBadName, "%q", tt.in)
			continue
		}
		assert.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got)
	}
	for _, p := range []string{"", ".", "..", "a/b", "x\x00"} {
		assert.ErrorIs(t, checkPlatform(p), ErrBadName, "%q", p)
	}
	assert.NoError(t, checkPlatform("pvr-sdk"))
}

func TestRotatedName(t *testing.T) {
	tests := []struct {
		in   string
		base string
		n    int
		ok   bool
	}{
		{"console.log.3.gz", "console.log", 3, true},
		{"syslog.12.gz", "syslog", 12, true},
		{"syslog.gz", "", 0, false},
		{"syslog.x.gz", "", 0, false},
		{"syslog.-1.gz", "", 0, false},
		{".1.gz", "", 0, false},
		{"syslog.1", "", 0, false},
	}
	for _, tt := range tests {
		b, n, ok := rotatedName(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.base, b, tt.in)
		assert.Equal(t, tt.n, n, tt.in)
	}
}

func TestFigures(t *testing.T) {
	f := Figures(1<<20, 0, 0)
	assert.Equal(t, Rotation{Budget: 1048576, Gap: 262144, High: 943718, Low: 786432, RotateSize: 52428}, f)
	f = Figures(16<<20, 8, 2)
	assert.Equal(t, Rotation{Budget: 16 << 20, Gap: 2 << 20, High: 15099494, Low: 14 << 20, RotateSize: 1 << 20}, f)
}
