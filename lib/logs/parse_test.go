package logs

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func legacy(level, platform, src, data string) []byte {
	b := binary.NativeEndian.AppendUint32(nil, CodeLegacy)
	body := level + "\x00" + platform + "\x00" + src + "\x00" + data
	b = binary.NativeEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		proto    Proto
		level    Level
		platform string
		src      string
		data     string
		err      error
	}{
		// RFC 5424 (examples from the RFC)
		{"5424 rfc example 1", []byte("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8"),
			RFC5424, Error, "", "su", "'su root' failed for lonvick on /dev/pts/8", nil},
		{"5424 rfc example 2", []byte("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.\n"),
			RFC5424, Info, "", "myproc", "%% It's time to make the do-nuts.", nil},
		{"5424 structured data with spaces", []byte(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli] cation" eventID="1011"][examplePriority@32473 class="high"] An application event`),
			RFC5424, Info, "", "evntslog", "An application event", nil},
		{"5424 all nil, no msg", []byte("<15>1 - - - - - -"), RFC5424, Debug, "", "unknown-app", "", nil},
		{"5424 missing fields", []byte("<13>1 2003-10-11T22:14:15Z host"), RFC5424, 0, "", "", "", ErrMalformed},
		{"5424 bad timestamp", []byte("<13>1 yesterday host app - - - msg"), RFC5424, 0, "", "", "", ErrMalformed},
		{"5424 unclosed sd", []byte(`<13>1 - host app - - [id x="] msg`), RFC5424, 0, "", "", "", ErrMalformed},
		{"5424 pri too big", []byte("<192>1 - host app - - - msg"), RFC5424, 0, "", "", "", ErrMalformed},
		// RFC 3164
		{"3164 with host", []byte("<13>Feb  5 17:32:18 10.0.0.99 myapp[1234]: Use the BFG!"), RFC3164, Info, "", "myapp", "Use the BFG!", nil},
		{"3164 glibc syslog", []byte("<30>Oct 11 22:14:15 dhcpcd[345]: eth0: leased 10.0.2.15 for 86400 seconds\n"),
			RFC3164, Info, "", "dhcpcd", "eth0: leased 10.0.2.15 for 86400 seconds", nil},
		{"3164 emergency", []byte("<8>Jan  1 00:00:00 kernel: oops"), RFC3164, Fatal, "", "kernel", "oops", nil},
		{"3164 warning", []byte("<12>Dec 31 23:59:59 host app: disk 91% full"), RFC3164, Warn, "", "app", "disk 91% full", nil},
		{"3164 no tag", []byte("<14>Mar  3 03:03:03 just some text"), RFC3164, Info, "", "unknown-app", "just some text", nil},
		{"3164 no timestamp", []byte("<13>myapp: hello"), RFC3164, Info, "", "myapp", "hello", nil},
		{"3164 nothing after pri", []byte("<12>"), RFC3164, 0, "", "", "", ErrMalformed},
		{"3164 four digit pri", []byte("<1234>Jan  1 00:00:00 a: b"), RFC3164, 0, "", "", "", ErrMalformed},
		// JSON
		{"json", []byte(`{"version":"0","level":"INFO","src":"myapp","message":"hello"}`), JSON, Info, "", "myapp", "hello", nil},
		{"json lower level, extras, escapes", []byte(` {"time":1,"version":"0.1","level":"warn","src":"a/b","message":"l1\nl2 \u00e9"}` + "\n"),
			JSON, Warn, "", "a/b", "l1\nl2 é", nil},
		{"json numeric level", []byte(`{"version":0,"level":5,"src":"x","message":"m"}`), JSON, Trace, "", "x", "m", nil},
		{"json bad version", []byte(`{"version":"1","level":"INFO","src":"x","message":"m"}`), JSON, 0, "", "", "", ErrMalformed},
		{"json no version", []byte(`{"level":"INFO","src":"x","message":"m"}`), JSON, 0, "", "", "", ErrMalformed},
		{"json level ALL", []byte(`{"version":"0","level":"ALL","src":"x","message":"m"}`), JSON, 0, "", "", "", ErrBadLevel},
		{"json no level", []byte(`{"version":"0","src":"x","message":"m"}`), JSON, 0, "", "", "", ErrBadLevel},
		{"json src not string", []byte(`{"version":"0","level":"INFO","src":7,"message":"m"}`), JSON, 0, "", "", "", ErrMalformed},
		{"json array", []byte(`[{"version":"0"}]`), JSON, 0, "", "", "", ErrMalformed},
		{"json truncated", []byte(`{"version":"0","level":"INFO"`), Unknown, 0, "", "", "", ErrUnknownProtocol},
		// key=value
		{"kv", []byte(`level=INFO src=myapp message="hello world"`), KV, Info, "", "myapp", "hello world", nil},
		{"kv bare values", []byte("level=debug src=app message=plain\n"), KV, Debug, "", "app", "plain", nil},
		{"kv escapes and order", []byte(`message="say \"hi\" \\o/" src = "my app" level=ERROR`), KV, Error, "", "my app", `say "hi" \o/`, nil},
		{"kv other keys", []byte(`ts=12 level=TRACE pid=3 src=a message=b`), KV, Trace, "", "a", "b", nil},
		{"kv unclosed quote", []byte(`level=INFO src=a message="oops`), KV, 0, "", "", "", ErrMalformed},
		{"kv empty value", []byte(`level=INFO src=a message=""`), KV, 0, "", "", "", ErrMalformed},
		{"kv bad level", []byte(`level=LOUD src=a message=b`), KV, 0, "", "", "", ErrBadLevel},
		{"kv missing key", []byte(`level=INFO src=a msg=b`), Unknown, 0, "", "", "", ErrUnknownProtocol},
		// legacy binary
		{"legacy", AppendLegacy(nil, Warn, "app", "lxc/console.log", []byte("hello\n")), Legacy, Warn, "app", "lxc/console.log", "hello\n", nil},
		{"legacy trailing nul", legacy("3", "pv", "ctrl", "started\x00"), Legacy, Info, "pv", "ctrl", "started", nil},
		{"legacy long platform", legacy("1", strings.Repeat("p", 80), "s", "d"), Legacy, Error, strings.Repeat("p", 63), "s", "d", nil},
		{"legacy bad level", legacy("9", "p", "s", "d"), Legacy, 0, "", "", "", ErrBadLevel},
		{"legacy empty level", legacy("", "p", "s", "d"), Legacy, 0, "", "", "", ErrBadLevel},
		{"legacy missing fields", append(binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 0), 3), "3\x00p"...), Legacy, 0, "", "", "", ErrMalformed},
		{"legacy length too big", append(binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 0), 100), "3\x00p\x00s\x00"...), Legacy, 0, "", "", "", ErrMalformed},
		{"legacy negative length", binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 0), 0xffffffff), Legacy, 0, "", "", "", ErrMalformed},
		// command and unknown
		{"command", AppendCommand(nil, CmdTransition, "7"), Cmd, Info, "", "", `{"code":4,"data":"7"}`, nil},
		{"plain text", []byte("hello world"), Unknown, 0, "", "", "", ErrUnknownProtocol},
		{"empty", nil, Unknown, 0, "", "", "", ErrUnknownProtocol},
		{"binary unknown code", binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, 5), 0), Unknown, 0, "", "", "", ErrUnknownProtocol},
		{"not a pri", []byte("<abc> hi"), Unknown, 0, "", "", "", ErrUnknownProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.proto, m.Proto)
			assert.Equal(t, tt.level, m.Level)
			assert.Equal(t, tt.platform, m.Platform)
			assert.Equal(t, tt.src, m.Source)
			assert.Equal(t, tt.data, string(m.Data))
		})
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	for _, in := range []string{`level=INFO src=a message=bare`, `<13>Jan  1 00:00:00 a: b`, `<13>1 - h a - - - b`} {
		b := []byte(in)
		m, err := Parse(b)
		require.NoError(t, err)
		want := string(m.Data)
		for i := range b {
			b[i] = 'X'
		}
		assert.Equal(t, want, string(m.Data), in)
	}
}

func TestParseTimes(t *testing.T) {
	m, err := Parse([]byte("<34>1 2003-10-11T22:14:15.003Z host su - - - x"))
	require.NoError(t, err)
	assert.True(t, m.Time.Equal(time.Date(2003, 10, 11, 22, 14, 15, 3e6, time.UTC)))
	m, err = Parse([]byte("<13>Feb  5 17:32:18 myapp: x"))
	require.NoError(t, err)
	assert.Equal(t, time.February, m.Time.Month())
	assert.Equal(t, 5, m.Time.Day())
	assert.Equal(t, 17, m.Time.Hour())
	m, err = Parse([]byte("<13>1 - h a - - - x"))
	require.NoError(t, err)
	assert.True(t, m.Time.IsZero())
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		want Command
		ok   bool
	}{
		{`{"code":4,"data":"12"}`, Command{CmdTransition, "12"}, true},
		{`{"code":1}`, Command{CmdExit, ""}, true},
		{`{"code":2,"data":"3"}`, Command{CmdStartUpdate, "3"}, true},
		{`{"code":9,"data":"3"}`, Command{}, false},
		{`{"code":"4","data":"3"}`, Command{}, false},
		{`{"code":4,"data":3}`, Command{}, false},
		{`{"code":4`, Command{}, false},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.in))
		if !tt.ok {
			assert.ErrorIs(t, err, ErrMalformed, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, c)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, msg := range []string{"hello", `with "quotes" and \ backslash`, "two\nlines", "ünïcode"} {
		m, err := Parse(AppendJSON(nil, Debug, "my src", msg))
		require.NoError(t, err)
		assert.Equal(t, Message{Proto: JSON, Level: Debug, Source: "my src", Data: []byte(msg)}, m)
		m, err = Parse(AppendKV(nil, Warn, "my src", msg))
		require.NoError(t, err)
		assert.Equal(t, Message{Proto: KV, Level: Warn, Source: "my src", Data: []byte(msg)}, m)
	}
}
