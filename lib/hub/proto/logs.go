package proto

import (
	"strconv"
	"unicode/utf8"

	"pantavisor/lib/rawjson"
)

// Limits of one POST /logs/ body (upstream's PH_LOGGER_PUSH_MAX_FRAGS and
// PH_LOGGER_PUSH_MAX_BYTES).
const (
	MaxLogFragments = 200
	MaxLogBytes     = 256 << 10
)

// Fragment is one log line as POST /logs/ takes it. Lvl "" is sent as
// "INFO".
type Fragment struct {
	Tsec  int64
	Tnano int32
	Lvl   string
	Src   string // the file under the platform's log dir, e.g. "/pantavisor.log"
	Plat  string
	Rev   string
	Msg   string // the line, without its newline
}

// AppendFragment appends f in upstream's PH_LOGGER_JSON_FORMAT, spacing
// included: { "tsec": N, "tnano": N,"lvl": "…", "src": "…","plat":"…","rev": "…" , "msg": "…" }.
// Every text is escaped as a JSON string (upstream escapes msg only).
func AppendFragment(dst []byte, f Fragment) []byte {
	if f.Lvl == "" {
		f.Lvl = "INFO"
	}
	dst = append(dst, `{ "tsec": `...)
	dst = strconv.AppendInt(dst, f.Tsec, 10)
	dst = append(dst, `, "tnano": `...)
	dst = strconv.AppendInt(dst, int64(f.Tnano), 10)
	dst = append(dst, `,"lvl": `...)
	dst = rawjson.AppendString(dst, f.Lvl)
	dst = append(dst, `, "src": `...)
	dst = rawjson.AppendString(dst, f.Src)
	dst = append(dst, `,"plat":`...)
	dst = rawjson.AppendString(dst, f.Plat)
	dst = append(dst, `,"rev": `...)
	dst = rawjson.AppendString(dst, f.Rev)
	dst = append(dst, ` , "msg": `...)
	dst = rawjson.AppendString(dst, f.Msg)
	return append(dst, ` }`...)
}

// LogBatch builds one POST /logs/ body: a JSON array of at most
// MaxLogFragments fragments and at most MaxLogBytes bytes. The zero
// LogBatch is empty and ready.
//
// A fragment that does not fit even into an empty batch (a line of about
// 256 KiB) has its Msg truncated, at a UTF-8 boundary, until it fits, and
// then goes alone: the line's start reaches the hub and the push goes on,
// where sending it whole would be refused and block every later line.
type LogBatch struct {
	body []byte // "[" and the fragments so far, comma-separated
	n    int
}

// Add appends f and reports true, or reports false and leaves b unchanged
// when f would exceed a limit: send Body, Reset, and Add f again. Add on
// an empty batch always succeeds (see truncation above).
func (b *LogBatch) Add(f Fragment) bool {
	if b.n >= MaxLogFragments {
		return false
	}
	if len(b.body) == 0 {
		b.body = append(b.body, '[')
	}
	mark := len(b.body)
	if b.n > 0 {
		b.body = append(b.body, ',')
	}
	b.body = AppendFragment(b.body, f)
	if len(b.body)+1 <= MaxLogBytes {
		b.n++
		return true
	}
	b.body = b.body[:mark]
	if b.n > 0 {
		return false
	}
	// Too big alone: keep the longest start of Msg that fits. Only Src,
	// Plat and Rev (file and directory names, far below the limit) could
	// make even an empty Msg too big; the fragment then goes as is.
	empty := f
	empty.Msg = ""
	room := MaxLogBytes - 1 - len(AppendFragment(b.body, empty)) + len(`""`)
	f.Msg = fit(f.Msg, room)
	b.body = AppendFragment(b.body, f)
	b.n++
	return true
}

// Len is the number of fragments in b.
func (b *LogBatch) Len() int { return b.n }

// Body returns the batch as a JSON array, "[]" when empty. It is valid
// until the next Add or Reset.
func (b *LogBatch) Body() []byte {
	if b.n == 0 {
		return []byte("[]")
	}
	return append(b.body, ']')
}

// Reset empties b, keeping its buffer.
func (b *LogBatch) Reset() {
	b.body = b.body[:0]
	b.n = 0
}

// fit returns the longest start of msg, cut at a UTF-8 boundary, whose
// JSON string literal takes at most n bytes (a binary search: escaping
// makes a byte take 1 to 6).
func fit(msg string, n int) string {
	lo, hi := 0, len(msg)
	var scratch []byte
	for lo < hi {
		mid := (lo + hi + 1) / 2
		scratch = rawjson.AppendString(scratch[:0], truncate(msg, mid))
		if len(scratch) <= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return truncate(msg, lo)
}

// truncate returns s cut to at most n bytes (n < 0 counts as 0) at a
// UTF-8 boundary.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
