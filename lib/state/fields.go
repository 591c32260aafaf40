package state

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// fields reads typed members of one JSON object. The first type error is
// kept, naming the state key and the member path, so callers read every
// field and check err once.
type fields struct {
	key  string // state key, e.g. "app/run.json"
	path string // member path prefix inside it, e.g. "auto_recovery."
	v    rawjson.Value
	err  *Error
}

func newFields(key, path string, v rawjson.Value) *fields {
	return &fields{key: key, path: path, v: v}
}

func (f *fields) failf(name, format string, args ...any) {
	if f.err == nil {
		f.err = errorf(f.key, "%s%s: %s", f.path, name, printf.Sprintf(format, args...))
	}
}

func (f *fields) get(name string, kind rawjson.Kind) (rawjson.Value, bool) {
	m, ok := f.v.Get(name)
	if !ok || m.Kind == rawjson.Null {
		return m, false
	}
	if m.Kind != kind {
		f.failf(name, "want a %s, got %s", kind, m.Kind)
		return m, false
	}
	return m, true
}

func (f *fields) has(name string) bool {
	_, ok := f.v.Get(name)
	return ok
}

func (f *fields) str(name string) string {
	m, _ := f.get(name, rawjson.String)
	return m.Str
}

// strs reads an array of strings.
func (f *fields) strs(name string) []string {
	m, ok := f.get(name, rawjson.Array)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(m.Items))
	for i, it := range m.Items {
		if it.Kind != rawjson.String {
			f.failf(printf.Sprintf("%s[%d]", name, i), "want a string, got %s", it.Kind)
			return nil
		}
		out = append(out, it.Str)
	}
	return out
}

// num reads an integer; def when absent.
func (f *fields) num(name string, def int) int {
	m, ok := f.get(name, rawjson.Number)
	if !ok {
		return def
	}
	n, err := m.Int()
	if err != nil || n < 0 || n > 1<<31-1 {
		f.failf(name, "want a non-negative integer, got %s", m.Raw)
		return def
	}
	return int(n)
}

func (f *fields) float(name string, def float64) float64 {
	m, ok := f.get(name, rawjson.Number)
	if !ok {
		return def
	}
	x, err := m.Float()
	if err != nil {
		f.failf(name, "invalid number %s", m.Raw)
		return def
	}
	return x
}

func (f *fields) obj(name string) (rawjson.Value, bool) {
	return f.get(name, rawjson.Object)
}

// oneOf reads a string that must be one of allowed (or absent: "").
func (f *fields) oneOf(name string, allowed ...string) string {
	s := f.str(name)
	if s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	f.failf(name, "invalid value %q, want one of %v", s, allowed)
	return ""
}
