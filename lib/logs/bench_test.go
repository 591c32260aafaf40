package logs

import "testing"

// BenchmarkParseEscape is the log server's work per message: detect and
// decode the protocol, then escape the text for the file. One message of
// each text protocol per op; it measures the CPU cost of build flags
// (make bench).
func BenchmarkParseEscape(b *testing.B) {
	text := "a line of an ordinary container log, with \"quotes\", a tab\tand ünïcödé"
	msgs := [][]byte{
		AppendJSON(nil, Info, "app", text),
		AppendKV(nil, Warn, "app", text),
		[]byte("<14>Jan  2 15:04:05 host app[12]: " + text),
		[]byte("<14>1 2026-01-02T15:04:05Z host app 12 - - " + text),
		AppendLegacy(nil, Info, "plat", "src", []byte(text)),
	}
	var dst []byte
	for b.Loop() {
		for _, m := range msgs {
			msg, err := Parse(m)
			if err != nil {
				b.Fatal(err)
			}
			dst = AppendEscaped(dst[:0], msg.Data)
		}
	}
}
