package logs

import (
	"bytes"

	"pantavisor/lib/rawjson"
)

// parseJSON decodes {"version":"0","level":"INFO","src":"…","message":"…"}:
// version must start with "0", level is a level name in any case (or its
// digit), src and message are strings. Other members are ignored.
func parseJSON(v rawjson.Value) (Message, error) {
	if v.Kind != rawjson.Object {
		return Message{}, badf(ErrMalformed, "json: %s, want an object", v.Kind)
	}
	ver, _ := v.Get("version")
	if len(ver.Raw) == 0 || !(ver.Str != "" && ver.Str[0] == '0' || ver.Kind == rawjson.Number && ver.Raw[0] == '0') {
		return Message{}, badf(ErrMalformed, "json: version %q, want 0", ver.Raw)
	}
	lv, _ := v.Get("level")
	name := lv.Str
	if lv.Kind == rawjson.Number {
		name = string(lv.Raw)
	}
	level, err := ParseLevel(name)
	if err != nil || lv.Kind != rawjson.String && lv.Kind != rawjson.Number {
		return Message{}, badf(ErrBadLevel, "json: level %q", lv.Raw)
	}
	src, _ := v.Get("src")
	msg, _ := v.Get("message")
	if src.Kind != rawjson.String || msg.Kind != rawjson.String {
		return Message{}, badf(ErrMalformed, "json: src and message must be strings")
	}
	return Message{Proto: JSON, Level: level, Source: src.Str, Data: []byte(msg.Str)}, nil
}

// kvScan walks key=value pairs in b and calls f for each (value unquoted).
// It stops at the first token that is not a pair, or at a quoted value that
// is not closed (f gets ok=false for that one). Spaces around '=' are
// allowed, as upstream does.
func kvScan(b []byte, f func(key, val []byte, ok bool)) {
	for {
		b = bytes.TrimLeft(b, " \t\r\n\v\f")
		k := 0
		for k < len(b) && b[k] != '=' && !isSpace(b[k]) {
			k++
		}
		key := b[:k]
		b = bytes.TrimLeft(b[k:], " \t\r\n\v\f")
		if len(key) == 0 || len(b) == 0 || b[0] != '=' {
			return
		}
		b = bytes.TrimLeft(b[1:], " \t\r\n\v\f")
		if len(b) == 0 {
			f(key, nil, false)
			return
		}
		if b[0] != '"' {
			v := 0
			for v < len(b) && !isSpace(b[v]) {
				v++
			}
			f(key, b[:v], true)
			b = b[v:]
			continue
		}
		val, n, ok := unquote(b)
		f(key, val, ok)
		if !ok {
			return
		}
		b = b[n:]
	}
}

// unquote reads a "…" value with \" and \\ escapes at the start of b.
func unquote(b []byte) (val []byte, n int, ok bool) {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			if i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\') {
				val = append(val, b[i+1])
				i++
				continue
			}
		case '"':
			if val == nil {
				val = []byte{}
			}
			return val, i + 1, true
		}
		val = append(val, b[i])
	}
	return nil, len(b), false
}

// parseKV decodes `level=INFO src=myapp message="hello world"`. isKV is
// true when the three keys all appear as pairs (upstream's detection);
// err then reports an unclosed quote, an empty value or a bad level. Other
// keys are skipped (upstream stops at them).
func parseKV(b []byte) (m Message, isKV bool, err error) {
	var seen, broken int
	var lvl, src, msg []byte
	kvScan(b, func(key, val []byte, ok bool) {
		bit := 0
		switch string(key) {
		case "level":
			bit, lvl = 1, val
		case "src":
			bit, src = 2, val
		case "message":
			bit, msg = 4, val
		}
		seen |= bit
		if !ok || len(val) == 0 {
			broken |= bit
		}
	})
	if seen != 7 {
		return Message{}, false, nil
	}
	if broken != 0 {
		return Message{}, true, badf(ErrMalformed, "kv: empty or unclosed value in %q", clip(b))
	}
	level, err := ParseLevel(string(lvl))
	if err != nil {
		return Message{}, true, err
	}
	return Message{Proto: KV, Level: level, Source: string(src), Data: bytes.Clone(msg)}, true, nil
}
