package meta

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// AppendJSON appends entries as one flat JSON object in their order, as
// upstream answers GET /user-meta and /device-meta and uploads
// device-meta: a value that is itself a JSON object or array is inlined
// raw (without surrounding whitespace); every other value, numbers
// included, is a JSON string.
func AppendJSON(dst []byte, entries []Entry) []byte {
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, e.Key)
		dst = append(dst, ':')
		if v, err := rawjson.Parse([]byte(e.Value)); err == nil && (v.Kind == rawjson.Object || v.Kind == rawjson.Array) {
			dst = append(dst, v.Raw...)
		} else {
			dst = rawjson.AppendString(dst, e.Value)
		}
	}
	return append(dst, '}')
}

// DecodeObject turns a flat JSON object, such as the Hub's user-meta list,
// into key/value pairs: strings are decoded, objects, arrays, numbers and
// booleans keep their JSON text, and null members are left out (upstream
// ignores them). A repeated key keeps its last value.
func DecodeObject(data []byte) (map[string]string, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return nil, printf.Errorf("parsing metadata: %w", err)
	}
	if v.Kind != rawjson.Object {
		return nil, printf.Errorf("parsing metadata: %s is not an object", v.Kind)
	}
	out := make(map[string]string, len(v.Members))
	for _, m := range v.Members {
		switch m.Value.Kind {
		case rawjson.Null:
		case rawjson.String:
			out[m.Key] = m.Value.Str
		default:
			out[m.Key] = string(m.Value.Raw)
		}
	}
	return out, nil
}
