package drivers

import (
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// ErrBadLine is returned for a module line whose ${...} reference cannot
// be substituted.
var ErrBadLine error = &sentinel.Error{Text: "bad module line"}

// Alias is a resolved driver alias: the module lines that load it.
type Alias struct {
	Name    string
	Modules []string // "module [params]", ${user-meta:KEY} unexpanded
}

// Resolve returns the aliases of a state's bsp/drivers.json sections (the
// parser kept "all" and the "fitconfig:<PV_BOOTLOADER_FITCONFIG>" section:
// upstream's code ignores the docs' "dtb:"/"ovl:" sections), in file
// order. An alias defined by several sections takes the modules of the
// last one, as upstream, which looks aliases up newest first.
func Resolve(secs []state.DriverSection) []Alias {
	var out []Alias
	at := map[string]int{}
	for _, sec := range secs {
		for _, a := range sec.Aliases {
			if i, ok := at[a.Name]; ok {
				out[i].Modules = a.Modules
				continue
			}
			at[a.Name] = len(out)
			out = append(out, Alias{Name: a.Name, Modules: a.Modules})
		}
	}
	return out
}

// UserMeta looks up a user-meta value.
type UserMeta interface {
	UserMeta(key string) (string, bool)
}

// MetaFunc adapts a function to UserMeta.
type MetaFunc func(key string) (string, bool)

// UserMeta calls f.
func (f MetaFunc) UserMeta(key string) (string, bool) { return f(key) }

// Expand substitutes every ${user-meta:KEY} of a module line with KEY's
// user-meta value. As upstream (drivers.c _sub_meta_values), a missing
// key (or a nil um) substitutes nothing, and a '$' not followed by '{' is
// an error. Unlike upstream, an unterminated "${" is an error (upstream
// reads past it) and so is any source but user-meta: upstream looks
// ${device-meta:KEY} up in user-meta too, which is refused here rather
// than guessed.
func Expand(line string, um UserMeta) (string, error) {
	if !strings.Contains(line, "$") {
		return line, nil
	}
	var b strings.Builder
	rest := line
	for {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		rest = rest[i+1:]
		if !strings.HasPrefix(rest, "{") {
			return "", printf.Errorf("%w %q: '$' without '{'", ErrBadLine, line)
		}
		ref, after, ok := strings.Cut(rest[1:], "}")
		if !ok {
			return "", printf.Errorf("%w %q: unterminated ${", ErrBadLine, line)
		}
		src, key, ok := strings.Cut(ref, ":")
		if !ok || key == "" || src != "user-meta" {
			return "", printf.Errorf("%w %q: want ${user-meta:KEY}, got ${%s}", ErrBadLine, line, ref)
		}
		if um != nil {
			if v, ok := um.UserMeta(key); ok {
				b.WriteString(v)
			}
		}
		rest = after
	}
}

// splitLine splits an expanded module line into the module name and its
// parameters ("" when none).
func splitLine(line string) (module, params string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", ""
	}
	return f[0], strings.Join(f[1:], " ")
}

// Check returns a warning for every alias a container of st names that
// the state's bsp/drivers.json does not define, as
// "<c>/run.json: drivers.<kind>: alias <a> is not defined in bsp/drivers.json".
func Check(st *state.State) []string {
	defined := map[string]bool{}
	for _, a := range Resolve(st.Drivers) {
		defined[a.Name] = true
	}
	var out []string
	for _, c := range st.Containers {
		for _, l := range kinds(c.Drivers) {
			for _, a := range l.names {
				if !defined[a] {
					out = append(out, printf.Sprintf("%s/run.json: drivers.%s: alias %s is not defined in bsp/drivers.json",
						c.Name, strings.ToLower(l.kind.String()), a))
				}
			}
		}
	}
	return out
}

// list is one of a container's alias lists.
type list struct {
	kind  Kind
	names []string
}

// kinds are a container's alias lists in upstream's order.
func kinds(d state.Drivers) [3]list {
	return [3]list{{Required, d.Required}, {Optional, d.Optional}, {Manual, d.Manual}}
}
