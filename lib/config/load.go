package config

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"pantavisor/lib/cmdline"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Conditions a Warning reports; test them with errors.Is.
var (
	ErrUnknownKey error = &sentinel.Error{Text: "unknown key"}                   // ignored
	ErrNotAllowed error = &sentinel.Error{Text: "key not allowed at this level"} // ignored, lower value kept
	ErrBadValue   error = &sentinel.Error{Text: "bad value"}                     // ignored, lower value kept
	ErrSyntax     error = &sentinel.Error{Text: "want key=value"}                // line ignored
	ErrLegacyKey  error = &sentinel.Error{Text: "legacy key"}                    // value applied
)

// Warning is a key or line that was not taken as written. Only a Warning
// wrapping ErrLegacyKey had its value applied.
type Warning struct {
	Level Level
	Line  int    // line in a file source, from 1; 0 otherwise
	Key   string // as written (for ErrSyntax, the line)
	Value string // as written, or <secret> for a secret key
	Err   error  // wraps one of the Err* conditions above
}

// Error returns e.g. `pv conf file line 3: PV_LOG_LEVEL="x": bad value: …`.
func (w Warning) Error() string {
	var b strings.Builder
	b.WriteString(w.Level.String())
	if w.Line > 0 {
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(w.Line))
	}
	b.WriteString(": ")
	b.WriteString(w.Key)
	if !errors.Is(w.Err, ErrSyntax) {
		b.WriteString("=")
		b.WriteString(strconv.Quote(w.Value))
	}
	b.WriteString(": ")
	if w.Err != nil {
		b.WriteString(w.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(w, ErrBadValue) works.
func (w Warning) Unwrap() error { return w.Err }

// asWarning returns err (from Set) as a Warning.
func asWarning(l Level, err error) Warning {
	var w Warning
	if !errors.As(err, &w) {
		w = Warning{Level: l, Err: err}
	}
	return w
}

// pair is one line of a key=value file.
type pair struct {
	line       int
	key, value string
	ok         bool // false: not key=value; key holds the line
}

// parse reads the key=value format: one pair a line, split at the first
// '=', key and value trimmed of white space. Blank lines and lines starting
// with '#' are skipped. Quotes and a '#' after the '=' are part of the value.
// A line without '=' or with an empty key comes back with ok false.
func parse(r io.Reader) ([]pair, error) {
	var out []pair
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			out = append(out, pair{line: n, key: text})
			continue
		}
		out = append(out, pair{line: n, key: k, value: strings.TrimSpace(v), ok: true})
	}
	return out, sc.Err()
}

// Load reads a key=value file (see the package comment) and sets every pair
// at level l, in order, so a later line wins. It returns the warnings of the
// pairs not taken as written; the error is for reading r only, and then
// nothing is set.
func (c *Config) Load(l Level, r io.Reader) ([]Warning, error) {
	pairs, err := parse(r)
	if err != nil {
		return nil, printf.Errorf("reading %s: %w", l, err)
	}
	var warns []Warning
	for _, p := range pairs {
		if !p.ok {
			warns = append(warns, Warning{Level: l, Line: p.line, Key: p.key, Err: ErrSyntax})
			continue
		}
		if err := c.Set(l, p.key, p.value); err != nil {
			w := asWarning(l, err)
			w.Line = p.line
			warns = append(warns, w)
		}
	}
	return warns, nil
}

// LoadFile is Load of the file at name.
func (c *Config) LoadFile(l Level, name string) ([]Warning, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, printf.Errorf("loading %s: %w", l, err)
	}
	defer f.Close()
	return c.Load(l, f)
}

// LoadEnv sets, at LevelEnv, every entry of env ("KEY=value", the form of
// os.Environ) whose key starts with PV_ or PH_. Only upper-case prefixes are
// taken: the kernel also hands unknown pv_x=y words to init's environment,
// and LoadCmdline reads those.
func (c *Config) LoadEnv(env []string) []Warning {
	var warns []Warning
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || len(k) <= 3 || !strings.HasPrefix(k, "PV_") && !strings.HasPrefix(k, "PH_") {
			continue
		}
		if err := c.Set(LevelEnv, k, v); err != nil {
			warns = append(warns, asWarning(LevelEnv, err))
		}
	}
	return warns
}

// LoadCmdline sets the kernel command line words pv_<key>=<value> at
// LevelPVCmdline and ph_<key>=<value> at LevelPHCmdline. <key> is the
// canonical name without its prefix (pv_log_level, ph_creds_host) or, when
// it holds a '.', a legacy alias (pv_storage.device, ph_creds.host,
// pv_sysctl.kernel.x). Words without '=' (pv_debug, pv_embedded: init
// arguments) and the bootloader's pv_rev and pv_try are not configuration
// and are skipped.
func (c *Config) LoadCmdline(words cmdline.Cmdline) []Warning {
	var warns []Warning
	for _, p := range words {
		var l Level
		switch {
		case !p.HasValue || len(p.Key) <= 3:
			continue
		case strings.HasPrefix(p.Key, "pv_"):
			l = LevelPVCmdline
		case strings.HasPrefix(p.Key, "ph_"):
			l = LevelPHCmdline
		default:
			continue
		}
		name := p.Key
		if rest := name[3:]; strings.Contains(rest, ".") {
			name = rest
		} else if l == LevelPVCmdline && (rest == "rev" || rest == "try") {
			continue
		}
		if err := c.Set(l, name, p.Value); err != nil {
			warns = append(warns, asWarning(l, err))
		}
	}
	return warns
}
