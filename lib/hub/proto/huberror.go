package proto

import (
	"strconv"
	"strings"

	"pantavisor/lib/rawjson"
)

// maxErrText bounds each text of a HubError.
const maxErrText = 200

// HubError is the error body of a failed request: pantahub-base's
// {"error":"REST-ERR-ID-…","msg":"…","code":N} or the JWT middleware's
// {"Error":"Not Authorized"}. The zero HubError means the body said
// nothing usable.
type HubError struct {
	ID   string // "error" or "Error"
	Msg  string
	Code int64
}

// ParseError reads an error body for a log line. It never fails: a body
// that is not such an object gives the zero HubError. Texts are cut to 200
// bytes and control characters are replaced, so the result is safe in one
// log line; it carries nothing of the request (no token).
func ParseError(data []byte) HubError {
	v, err := rawjson.Parse(data)
	if err != nil || v.Kind != rawjson.Object {
		return HubError{}
	}
	var e HubError
	for _, m := range v.Members {
		switch m.Key {
		case "error", "Error":
			if m.Value.Kind == rawjson.String && e.ID == "" {
				e.ID = sanitize(m.Value.Str)
			}
		case "msg":
			if m.Value.Kind == rawjson.String {
				e.Msg = sanitize(m.Value.Str)
			}
		case "code":
			if n, err := m.Value.Int(); err == nil {
				e.Code = n
			}
		}
	}
	return e
}

// String returns e for a log line: `<id>: <msg> (code <n>)`, leaving out
// the empty parts; "" for the zero HubError.
func (e HubError) String() string {
	var parts []string
	if e.ID != "" {
		parts = append(parts, e.ID)
	}
	if e.Msg != "" {
		parts = append(parts, e.Msg)
	}
	s := strings.Join(parts, ": ")
	if e.Code != 0 {
		if s != "" {
			s += " "
		}
		s += "(code " + strconv.FormatInt(e.Code, 10) + ")"
	}
	return s
}

// sanitize cuts s to maxErrText bytes and replaces control characters
// with '?', keeping one log line one line.
func sanitize(s string) string {
	s = clip(s, maxErrText)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
