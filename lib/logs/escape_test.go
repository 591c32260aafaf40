package logs

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

func TestAppendEscaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text: a=b \"q\" 'x' {}", "plain text: a=b \"q\" 'x' {}"},
		{`back\slash \n stays`, `back\slash \n stays`},
		{"a\nb", `a\nb`},
		{"a\r\nb", `a\r\nb`},
		{"tab\there", `tab\there`},
		{"nul\x00byte", `nul\x00byte`},
		{"\x01\x07\x08\x0b\x0c\x1b[31mred\x1f", `\x01\x07\x08\x0b\x0c\x1b[31mred\x1f`},
		{"del\x7f", `del\x7f`},
		{"é ü 日本 🙂", "é ü 日本 🙂"},
		{"c1 \u0085 \u009b", `c1 \u0085 \u009b`},
		{"sep\u2028\u2029", `sep\u2028\u2029`},
		{"bad \xff \xc3 \xe2\x82", `bad \xff \xc3 \xe2\x82`},
		{"\xc3", `\xc3`},
		{"\n[pantavisor] 1 ERROR\t -- [x]: forged", `\n[pantavisor] 1 ERROR\t -- [x]: forged`},
	}
	for _, tt := range tests {
		got := string(AppendEscaped([]byte(">"), []byte(tt.in)))
		assert.Equal(t, ">"+tt.want, got, "%q", tt.in)
		assert.Equal(t, tt.want, Escape(tt.in), "%q", tt.in)
		assert.Equal(t, tt.want, Escape(tt.want), "escaping twice changes nothing more: %q", tt.in)
	}
}

// TestFormatsEscape: every output writes a whole message as one escaped
// line, and a stream's lines with their content escaped.
func TestFormatsEscape(t *testing.T) {
	forged := "bad key x\n[pantavisor] 1 ERROR\t -- [engine]: forged\x00\r\n"
	pv := &entry{Message: &Message{Proto: Text, Level: Info, Platform: Pantavisor, Source: "updater", Data: []byte(forged)}, tsec: 5}
	assert.Equal(t, `[pantavisor] 5 INFO	 -- [updater]: bad key x\n[pantavisor] 1 ERROR\t -- [engine]: forged\x00`+"\n",
		string(appendPV(nil, pv, "")))
	assert.Equal(t, `{"tsec":5,"tnano":0,"platform":"pantavisor","lvl":"INFO","src":"updater","msg":"bad key x\\n[pantavisor] 1 ERROR\\t -- [engine]: forged\\x00"}`+"\n",
		string(appendJSONLines(nil, pv, "")))

	kv := &entry{Message: &Message{Proto: KV, Level: Warn, Platform: "app", Source: "s", Data: []byte("a\nb\x1b[2J\n")}}
	assert.Equal(t, `a\nb\x1b[2J`+"\n", string(appendRaw(nil, kv, "")))

	console := &entry{Message: &Message{Proto: Raw, Level: Info, Platform: "app", Source: "lxc/console.log",
		Data: []byte("ok\r\n\x1b[31mred\x00\nprogress 10%\rprogress 20%\r")}}
	assert.Equal(t, "ok\n"+`\x1b[31mred\x00`+"\n"+`progress 10%\rprogress 20%`, string(appendRaw(nil, console, "T")[4:]))
	assert.Equal(t, "[T] ", string(appendRaw(nil, console, "T")[:4]))
	console.Platform = Pantavisor
	assert.Equal(t, "[pantavisor] 0 INFO\t -- [lxc/console.log]: ok\n"+
		"[pantavisor] 0 INFO\t -- [lxc/console.log]: "+`\x1b[31mred\x00`+"\n"+
		"[pantavisor] 0 INFO\t -- [lxc/console.log]: "+`progress 10%\rprogress 20%`+"\n", string(appendPV(nil, console, "")))
}

// TestServerForgedLine reproduces issue 13 item 6: a client's text with
// "\n[pantavisor] … ERROR …" in one of pantavisor's messages (a state key
// in an update's error) gives one escaped line in pantavisor.log and on
// the console, and NUL bytes are escaped in pantavisor.log.
func TestServerForgedLine(t *testing.T) {
	var out testenv.Buffer
	s, _ := startServer(t, func(s *Server) {
		s.Outputs = "filetree,stdout.pantavisor"
		s.Stdout = &out
		s.Identify = func(int) string { return "" } // the host: pantavisor
	})
	key := "app\n[pantavisor] 1 ERROR\t -- [engine]: container app crashed, rebooting/run.json"
	require.NoError(t, s.Log(Error, "updater", "revision locals/x: "+key+": unknown key"))
	send(t, s.CtrlSocket(), AppendJSON(nil, Info, "client", "nul\x00bytes\x00"))

	path := filepath.Join(s.StorageLogs, "1/pantavisor/pantavisor.log")
	var got string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(path)
		got = string(b)
		return strings.Count(got, "\n") >= 2
	}, 5*time.Second, 5*time.Millisecond)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	require.Len(t, lines, 2, got)
	assert.Regexp(t, `^\[pantavisor\] \d+ ERROR\t -- \[updater\]: revision locals/x: app\\n\[pantavisor\] 1 ERROR\\t -- \[engine\]: container app crashed, rebooting/run.json: unknown key$`, lines[0])
	assert.Regexp(t, `^\[pantavisor\] \d+ INFO\t -- \[client\]: nul\\x00bytes\\x00$`, lines[1])
	assert.NotContains(t, got, "\x00")

	require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") >= 2 }, 5*time.Second, 5*time.Millisecond)
	console := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, console, 2, out.String())
	assert.Equal(t, lines[0], console[0], "the console gets the same one line")
	for _, l := range console {
		assert.True(t, regexp.MustCompile(`^\[pantavisor\] \d+ `).MatchString(l), l)
	}
}

// TestServerContainerEscaped: a container's messages and console stream
// reach its files escaped, line ends kept.
func TestServerContainerEscaped(t *testing.T) {
	s, _ := startServer(t, nil)
	send(t, s.CtrlSocket(), AppendJSON(nil, Info, "syslog", "one\ntwo\x00\x1b[2J"))
	waitFile(t, filepath.Join(s.StorageLogs, "1/app/syslog"), `one\ntwo\x00\x1b[2J`+"\n")
	for _, chunk := range []string{"boot\r\n\x07be", "ll\r", "\nend\n"} {
		require.NoError(t, s.Write(Message{Proto: Raw, Level: Info, Platform: "app", Source: "lxc/console.log", Data: []byte(chunk)}))
	}
	b, err := os.ReadFile(filepath.Join(s.StorageLogs, "1/app/lxc/console.log"))
	require.NoError(t, err)
	assert.Equal(t, "boot\n"+`\x07bell`+"\nend\n", string(b))
}

// checkEscapedOutput fails unless out is valid UTF-8 whose only control
// bytes are the '\n' ending each line and, when pvFormat, the tab of each
// line's header.
func checkEscapedOutput(t *testing.T, out []byte, pvFormat bool) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("invalid UTF-8 in %q", out)
	}
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		body := bytes.TrimSuffix(line, []byte("\n"))
		if pvFormat && len(body) > 0 {
			i := bytes.Index(body, []byte("\t -- ["))
			if i < 0 {
				t.Fatalf("line without its header: %q", line)
			}
			body = body[i+1:]
		}
		for _, c := range body {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("control byte %#x in %q", c, out)
			}
		}
	}
}
