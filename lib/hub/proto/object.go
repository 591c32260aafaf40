package proto

import (
	"strconv"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Object is what the device uses of GET /objects/<sha256>: the object's
// sha256 (64 lowercase hex digits), its size in bytes and the URL to
// download it from.
type Object struct {
	Sha256sum    string
	Size         int64
	SignedGetURL string
}

// CheckSha reports whether s is a sha256 in 64 lowercase hex digits.
func CheckSha(s string) error {
	if len(s) != 64 {
		return printf.Errorf("sha256 %q: %d characters, want 64 hex digits", clip(s, 80), len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return printf.Errorf("sha256 %q: want lowercase hex digits", s)
		}
	}
	return nil
}

// ParseObject parses the answer to GET /objects/<sha256>. sha256sum must
// pass CheckSha. size is a string (as pantahub-base sends it) or a number;
// upstream reads either with atoll, which turns garbage into 0 or a prefix:
// here anything but decimal digits fitting an int64 (no sign, no space, no
// fraction) is refused. signed-geturl is required and decoded as JSON
// (so "\u0026" becomes "&", as upstream replaces it); it must be
// printable ASCII without space, since its path goes into a request line.
func ParseObject(data []byte) (Object, error) {
	const what = "object metadata"
	v, err := parseObject(what, data)
	if err != nil {
		return Object{}, err
	}
	var o Object
	if o.Sha256sum, err = str(what, v, "sha256sum"); err != nil {
		return Object{}, err
	}
	if err := CheckSha(o.Sha256sum); err != nil {
		return Object{}, answerErr(what, err.Error())
	}
	if o.Size, err = parseSize(v); err != nil {
		return Object{}, answerErr(what, o.Sha256sum+": "+err.Error())
	}
	if o.SignedGetURL, err = str(what, v, "signed-geturl"); err != nil {
		return Object{}, err
	}
	if !token(o.SignedGetURL) {
		return Object{}, answerErr(what, o.Sha256sum+": signed-geturl empty or not printable ASCII")
	}
	return o, nil
}

// parseSize reads member "size": digits in a string or a number.
func parseSize(v rawjson.Value) (int64, error) {
	m, ok := v.Get("size")
	var text string
	switch {
	case !ok:
		return 0, printf.Errorf("no size")
	case m.Kind == rawjson.String:
		text = m.Str
	case m.Kind == rawjson.Number:
		text = string(m.Raw)
	default:
		return 0, printf.Errorf("size is a %s, want a string or number", m.Kind)
	}
	if text == "" || strings.TrimLeft(text, "0123456789") != "" {
		return 0, printf.Errorf("size %q: want decimal digits", clip(text, 40))
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, printf.Errorf("size %q: out of range", clip(text, 40))
	}
	return n, nil
}
