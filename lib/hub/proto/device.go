package proto

import (
	"strings"

	"pantavisor/lib/printf"
)

// IDLen is the length of a device id: a Mongo ObjectID in hex.
const IDLen = 24

// PRNPrefix starts the prn of a device: prn:::devices:/<id>.
const PRNPrefix = "prn:::devices:/"

// MaxCred bounds the length of a prn or secret the hub hands out.
const MaxCred = 256

// Device is a device record as the hub returns it from POST /devices/
// (registration) and GET /devices/<id>. Owner is empty while the device is
// unclaimed; Challenge is the word a user claims it with (empty once
// claimed, or when registered with an auto token). Secret is only in the
// registration answer.
type Device struct {
	ID        string
	PRN       string
	Secret    string
	Challenge string
	Owner     string
	Nick      string
}

// CheckID reports whether id is a device id: 24 lowercase hex digits. An
// id is used in URL paths and as a file's content, so nothing else passes.
func CheckID(id string) error {
	if len(id) != IDLen {
		return printf.Errorf("device id %q: %d characters, want %d hex digits", clip(id, 40), len(id), IDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return printf.Errorf("device id %q: want lowercase hex digits", id)
		}
	}
	return nil
}

// checkCred refuses an empty prn or secret, or one that could not be
// stored as a pantahub.config value (control characters, surrounding
// space) or sent as JSON text.
func checkCred(name, v string) error {
	switch {
	case v == "":
		return printf.Errorf("no %s", name)
	case len(v) > MaxCred:
		return printf.Errorf("%s of %d bytes, at most %d", name, len(v), MaxCred)
	case strings.TrimSpace(v) != v:
		return printf.Errorf("%s with surrounding space", name)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return printf.Errorf("%s with control character 0x%02x", name, c)
		}
	}
	return nil
}

// ParseRegister parses the answer to POST /devices/. It refuses an answer
// without a valid id (CheckID), without a prn equal to PRNPrefix+id or
// without a secret; challenge, owner and nick are optional strings.
func ParseRegister(data []byte) (Device, error) {
	const what = "registration answer"
	d, err := parseDevice(what, data)
	if err != nil {
		return Device{}, err
	}
	if d.PRN != PRNPrefix+d.ID {
		return Device{}, answerErr(what, printf.Sprintf("prn %q does not name device %s", clip(d.PRN, 80), d.ID))
	}
	if err := checkCred("secret", d.Secret); err != nil {
		return Device{}, answerErr(what, err.Error())
	}
	return d, nil
}

// ParseDevice parses the answer to GET /devices/<id>: it needs a valid id;
// owner and challenge (and prn, nick) are optional strings. The secret is
// not expected and is dropped if present.
func ParseDevice(data []byte) (Device, error) {
	d, err := parseDevice("device answer", data)
	d.Secret = ""
	return d, err
}

// parseDevice reads the members of a device record; id must be valid.
func parseDevice(what string, data []byte) (Device, error) {
	v, err := parseObject(what, data)
	if err != nil {
		return Device{}, err
	}
	var d Device
	for _, f := range []struct {
		key string
		dst *string
	}{{"id", &d.ID}, {"prn", &d.PRN}, {"secret", &d.Secret}, {"challenge", &d.Challenge}, {"owner", &d.Owner}, {"nick", &d.Nick}} {
		if *f.dst, err = str(what, v, f.key); err != nil {
			return Device{}, err
		}
	}
	if err := CheckID(d.ID); err != nil {
		return Device{}, answerErr(what, err.Error())
	}
	return d, nil
}
