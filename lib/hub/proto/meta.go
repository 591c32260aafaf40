package proto

import (
	"errors"
	"maps"
	"slices"

	"pantavisor/lib/meta"
	"pantavisor/lib/printf"
)

// AppendDeviceMeta appends the PUT /devices/<id>/device-meta body: the
// full flat object of m in key order, values that are JSON objects or
// arrays inlined raw and every other value a JSON string (meta.AppendJSON).
func AppendDeviceMeta(dst []byte, m map[string]string) []byte {
	entries := make([]meta.Entry, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		entries = append(entries, meta.Entry{Key: k, Value: m[k]})
	}
	return meta.AppendJSON(dst, entries)
}

// DeviceMetaChanged reports whether cur differs from sent, the map of the
// last device-meta PUT that the hub accepted (nil before the first). The
// client PUTs the full object (AppendDeviceMeta) only when it changed.
func DeviceMetaChanged(sent, cur map[string]string) bool {
	return sent == nil || !maps.Equal(sent, cur)
}

// ParseUserMeta parses the answer to GET /devices/<id>/user-meta, a flat
// object: strings are decoded, objects, arrays, numbers and booleans keep
// their JSON text, null members are left out (meta.DecodeObject).
func ParseUserMeta(data []byte) (map[string]string, error) {
	m, err := meta.DecodeObject(data)
	if err != nil {
		return nil, printf.Errorf("%w: user-meta: %w", ErrAnswer, err)
	}
	return m, nil
}

// UserMetaDiff compares the hub's user-meta (authoritative, full state)
// with the local store and returns what to write and what to delete
// locally: set holds the hub's keys whose value is new or changed, del the
// local keys the hub no longer has, in key order. A hub key that
// meta.CheckKey refuses (a path, "..", control characters) or a value over
// meta.MaxValue is left out of set and reported in err (wrapping
// meta.ErrInvalidKey or meta.ErrValueTooLarge); set and del are still
// complete for the rest. A local key whose hub value is refused keeps its
// old value (it is neither set nor deleted).
func UserMetaDiff(local, hub map[string]string) (set map[string]string, del []string, err error) {
	var errs []error
	set = make(map[string]string)
	for _, k := range slices.Sorted(maps.Keys(hub)) {
		v := hub[k]
		if e := meta.CheckKey(k); e != nil {
			errs = append(errs, printf.Errorf("user-meta from the hub: %w", e))
			continue
		}
		if len(v) > meta.MaxValue {
			errs = append(errs, printf.Errorf("user-meta from the hub: %w: key %q has %d bytes, at most %d", meta.ErrValueTooLarge, k, len(v), meta.MaxValue))
			continue
		}
		if old, ok := local[k]; !ok || old != v {
			set[k] = v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(local)) {
		if _, ok := hub[k]; !ok {
			del = append(del, k)
		}
	}
	return set, del, errors.Join(errs...)
}
