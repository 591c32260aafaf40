package drivers

import "pantavisor/lib/rawjson"

// AppendJSON appends GET /drivers' body for ss as upstream writes it
// (drivers.c pv_drivers_state_all): [{"name":…,"type":…,"status":…},…],
// or {} when ss is empty.
func AppendJSON(b []byte, ss []Status) []byte {
	if len(ss) == 0 {
		return append(b, "{}"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = rawjson.AppendString(b, s.Name)
		b = append(b, `,"type":`...)
		b = rawjson.AppendString(b, s.Kind.String())
		b = append(b, `,"status":`...)
		b = rawjson.AppendString(b, s.State.String())
		b = append(b, '}')
	}
	return append(b, ']')
}
