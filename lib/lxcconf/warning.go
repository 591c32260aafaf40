package lxcconf

import (
	"strconv"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Conditions an error or a Warning wraps; test them with errors.Is.
var (
	ErrSyntax     error = &sentinel.Error{Text: "want key = value"}                   // error: a line without '='
	ErrBadValue   error = &sentinel.Error{Text: "bad value"}                          // error: LXC refuses the value too
	ErrConflict   error = &sentinel.Error{Text: "conflicting keys"}                   // error: keys LXC refuses together
	ErrInclude    error = &sentinel.Error{Text: "include loop or too deep"}           // error: lxc.include nesting
	ErrNoEnv      error = &sentinel.Error{Text: "variable to inherit is not set"}     // Environ: KEY without a value
	ErrUnknownKey error = &sentinel.Error{Text: "unknown key, ignored"}               // warning
	ErrLegacyKey  error = &sentinel.Error{Text: "legacy key"}                         // warning: value applied under the new key
	ErrEnforced   error = &sentinel.Error{Text: "parsed but not enforced"}            // warning: LSM/seccomp keys, kept in Raw
	ErrNotApplied error = &sentinel.Error{Text: "LXC key kept raw, not applied here"} // warning: kept in Raw
)

// Warning is a line that was accepted but not taken fully as written: an
// unknown key (ignored), a legacy key (applied under its new name), or a key
// kept in Config.Raw that the launcher does not apply.
type Warning struct {
	File string
	Line int
	Key  string
	Err  error // wraps one of ErrUnknownKey, ErrLegacyKey, ErrEnforced, ErrNotApplied
}

// Error returns e.g. `base.conf:3: lxc.utsname: legacy key: use lxc.uts.name`.
func (w Warning) Error() string {
	return w.File + ":" + strconv.Itoa(w.Line) + ": " + w.Key + ": " + w.Err.Error()
}

// Unwrap returns the condition, so errors.Is(w, ErrLegacyKey) works.
func (w Warning) Unwrap() error { return w.Err }

// pos is where a key was set.
type pos struct {
	file string
	line int
}

func (p pos) String() string { return p.file + ":" + strconv.Itoa(p.line) }

// lineError names the file, line and key of a refused line.
func lineError(at pos, key string, err error) error {
	return printf.Errorf("%s: %s: %w", at, key, err)
}

// badValue wraps ErrBadValue with what was wrong.
func badValue(format string, args ...any) error {
	return printf.Errorf("%w: "+format, append([]any{ErrBadValue}, args...)...)
}
