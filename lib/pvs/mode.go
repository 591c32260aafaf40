package pvs

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Mode is a secure-boot mode (PV_SECUREBOOT_MODE). The zero Mode is
// Lenient, upstream's default.
type Mode uint8

// The modes, from upstream's signature.c.
const (
	Lenient  Mode = iota // bad signatures refused; uncovered keys and no signature accepted
	Disabled             // nothing checked
	Audit                // bad signatures refused; uncovered keys only reported
	Strict               // bad signatures and uncovered keys refused
)

var modeNames = [...]string{Lenient: "lenient", Disabled: "disabled", Audit: "audit", Strict: "strict"}

// ErrMode is wrapped by ParseMode's error.
var ErrMode error = &sentinel.Error{Text: "unknown secure-boot mode"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return printf.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a PV_SECUREBOOT_MODE value.
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if s == name {
			return Mode(m), nil
		}
	}
	return 0, printf.Errorf("%w %q (want disabled, audit, lenient or strict)", ErrMode, s)
}

// needsCoverage reports whether the mode looks at uncovered keys at all.
func (m Mode) needsCoverage() bool { return m == Audit || m == Strict }
