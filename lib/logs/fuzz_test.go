package logs

import (
	"bytes"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
		`<165>1 - h app - - [id a="b\"]"] msg`,
		"<13>Feb  5 17:32:18 10.0.0.99 myapp[1234]: Use the BFG!",
		`{"version":"0","level":"INFO","src":"myapp","message":"hello"}`,
		`level=INFO src=myapp message="hello \"world\""`,
		`{"code":4,"data":"1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Add(AppendLegacy(nil, Warn, "app", "lxc/console.log", []byte("hello\n")))
	f.Add(AppendCommand(nil, CmdTransition, "2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if !m.Level.Valid() || m.Proto == Unknown {
			t.Fatalf("Parse(%q) = %+v", b, m)
		}
		if m.Proto == Cmd {
			ParseCommand(m.Data)
		}
	})
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte("a\x00b\x00c"), true, false)
	f.Add(AppendLegacy(nil, Info, "p", "s", []byte("x")), false, true)
	f.Add([]byte("\x00\x00\x00\x00\x05\x00\x00\x00abc"), true, true)
	f.Fuzz(func(t *testing.T, b []byte, end, eof bool) {
		var st framing
		total := 0
		used, err := split(b, &st, end, eof, func(frame []byte) { total += len(frame) })
		if used < 0 || used > len(b) || total > used {
			t.Fatalf("split(%q) used %d of %d, framed %d", b, used, len(b), total)
		}
		if err == nil && eof && used != len(b) {
			t.Fatalf("split(%q) at eof left %d bytes", b, len(b)-used)
		}
	})
}

// FuzzEscape: whatever a client sends, the escaper and every output
// format write valid UTF-8 with no control byte but the line end (and the
// tab of the pantavisor format's header); a whole message is one line, and
// escaping is idempotent.
func FuzzEscape(f *testing.F) {
	f.Add([]byte("plain"), false)
	f.Add([]byte("a\nb\r\n\x00\x1b[31m\x7f\xc2\x85\xe2\x80\xa8\xff"), true)
	f.Add([]byte("\n[pantavisor] 1 ERROR\t -- [x]: forged\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, stream bool) {
		esc := AppendEscaped(nil, b)
		checkEscapedOutput(t, esc, false)
		if bytes.IndexByte(esc, '\n') >= 0 {
			t.Fatalf("newline left in %q", esc)
		}
		if again := AppendEscaped(nil, esc); !bytes.Equal(again, esc) {
			t.Fatalf("escaping %q twice gave %q", esc, again)
		}
		if Escape(string(b)) != string(esc) {
			t.Fatalf("Escape(%q) differs from AppendEscaped", b)
		}
		p := Text
		if stream {
			p = Raw
		}
		e := &entry{Message: &Message{Proto: p, Level: Info, Platform: "app", Source: "s", Data: b}}
		checkEscapedOutput(t, appendRaw(nil, e, ""), false)
		pv := appendPV(nil, e, "")
		checkEscapedOutput(t, pv, true)
		checkEscapedOutput(t, appendJSONLines(nil, e, ""), false)
		if !stream && bytes.Count(pv, []byte("\n")) > 1 {
			t.Fatalf("whole message %q gave several lines %q", b, pv)
		}
	})
}
