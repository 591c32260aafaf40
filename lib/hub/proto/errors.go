package proto

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// ErrAnswer is wrapped by every refusal of a hub answer: bad JSON, a missing
// member or a member of the wrong kind or value.
var ErrAnswer error = &sentinel.Error{Text: "bad hub answer"}

// answerErr returns an error wrapping ErrAnswer: "<what>: <why>".
func answerErr(what, why string) error {
	return printf.Errorf("%w: %s: %s", ErrAnswer, what, why)
}

// parseObject parses data as one JSON object; what names the answer.
func parseObject(what string, data []byte) (rawjson.Value, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return v, printf.Errorf("%w: %s: %w", ErrAnswer, what, err)
	}
	if v.Kind != rawjson.Object {
		return v, answerErr(what, "want an object, got "+v.Kind.String())
	}
	return v, nil
}

// str returns member key of v as a string: "" when absent or null, an
// error for any other kind.
func str(what string, v rawjson.Value, key string) (string, error) {
	m, ok := v.Get(key)
	switch {
	case !ok || m.Kind == rawjson.Null:
		return "", nil
	case m.Kind != rawjson.String:
		return "", answerErr(what, printf.Sprintf("%q is a %s, want a string", key, m.Kind))
	}
	return m.Str, nil
}

// token reports whether s is non-empty and made only of printable ASCII
// without space, so it can go into a request line or a header as is.
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// clip returns s cut to at most n bytes, for error and log text.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
