package logs

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendEscaped appends line to dst with everything that could end, hide
// or rewrite a log line made visible, in Go's escape style without the
// quotes: '\n', '\r' and '\t' as `\n`, `\r`, `\t`; NUL, the other C0
// controls and DEL as `\xNN`; a byte that is not valid UTF-8 as `\xNN`;
// the C1 controls (U+0080-U+009F) and the line and paragraph separators
// (U+2028, U+2029) as `\uNNNN`. Printable UTF-8 and the backslash are
// kept as they are, so ordinary text is unchanged and escaping twice
// changes nothing more (AppendEscaped of its own output is the identity).
// The output never contains a byte below 0x20 or 0x7f.
func AppendEscaped(dst, line []byte) []byte {
	start := 0 // line[start:i] is kept as is
	for i := 0; i < len(line); {
		c := line[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		var r rune
		n := 1
		if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(line[i:])
			if !(r == utf8.RuneError && n == 1) && !isC1(r) && r != 0x2028 && r != 0x2029 {
				i += n
				continue
			}
		}
		dst = append(dst, line[start:i]...)
		switch {
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, `\t`...)
		case c < utf8.RuneSelf || n == 1:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		}
		i += n
		start = i
	}
	return append(dst, line[start:]...)
}

// Escape returns s escaped as AppendEscaped does: s itself when nothing
// needs escaping. A console or a log written outside the log server
// passes each line of client-provided text through it.
func Escape(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return string(AppendEscaped(make([]byte, 0, len(s)+8), []byte(s)))
		}
	}
	return s
}

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }
