package proto

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// ParseTrails parses the answer to GET /trails/: a JSON array, empty while
// the device has not posted its factory state. synced is true for a
// non-empty array; anything but an array is refused.
func ParseTrails(data []byte) (synced bool, err error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return false, printf.Errorf("%w: trails list: %w", ErrAnswer, err)
	}
	if v.Kind != rawjson.Array {
		return false, answerErr("trails list", "want an array, got "+v.Kind.String())
	}
	return len(v.Items) > 0, nil
}
