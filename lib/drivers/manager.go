package drivers

import (
	"errors"
	"slices"
	"strings"
	"sync"

	"pantavisor/lib/kmod"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// Errors a caller branches on.
var (
	ErrUnknownAlias error = &sentinel.Error{Text: "alias not defined in bsp/drivers.json"}
	ErrInUse        error = &sentinel.Error{Text: "alias in use"}
)

// Loader loads and unloads one kernel module; *kmod.Loader is one.
type Loader interface {
	Probe(module, params string) error // load after its dependencies
	Unload(module string) error
}

// Kind is how a container names an alias in run.json "drivers".
type Kind uint8

// The kinds, as upstream's plat_driver_t.
const (
	Required Kind = iota + 1 // loaded before the container starts; a failure fails the start
	Optional                 // loaded before the container starts, best effort
	Manual                   // loaded and unloaded through pv-ctrl only
)

// String is the kind as GET /drivers shows it.
func (k Kind) String() string {
	switch k {
	case Required:
		return "REQUIRED"
	case Optional:
		return "OPTIONAL"
	case Manual:
		return "MANUAL"
	}
	return "UNKNOWN"
}

// Load is an alias's load state.
type Load uint8

// The load states, as upstream's mod_state_t.
const (
	Unknown  Load = iota // the alias is not defined in bsp/drivers.json
	Unloaded             // defined, not loaded (or its last load or unload failed part way)
	Loaded
)

// String is the load state as GET /drivers shows it.
func (l Load) String() string {
	switch l {
	case Unloaded:
		return "UNLOADED"
	case Loaded:
		return "LOADED"
	}
	return "UNKNOWN"
}

// Status is one entry of GET /drivers.
type Status struct {
	Name  string
	Kind  Kind
	State Load
}

// Manager loads the aliases of one boot's bsp/drivers.json and keeps
// which containers hold each one. Fill the fields before the first call
// and do not change them after; the methods are safe for concurrent use.
//
// An alias is held by the running containers that loaded it (Require,
// Optional, Load). Release drops a stopped container's holds but keeps
// the modules loaded: upstream unloads drivers only when pv-ctrl asks
// (PUT /drivers/.../unload), never when a container stops. Unload refuses
// to unload an alias another container still holds.
type Manager struct {
	Aliases  []Alias  // the boot's aliases (Resolve)
	Loader   Loader   // nil: kmod.Loader{} (/lib/modules/<running kernel>)
	UserMeta UserMeta // nil: every ${user-meta:KEY} substitutes nothing

	mu    sync.Mutex // serialises loads and guards state
	state map[string]*entry
}

// entry is the manager's view of one alias.
type entry struct {
	loaded  bool
	holders []string // containers holding it, in order
}

func (m *Manager) loader() Loader {
	if m.Loader == nil {
		return &kmod.Loader{}
	}
	return m.Loader
}

// alias returns the definition and state of an alias; the caller holds mu.
func (m *Manager) alias(name string) (*Alias, *entry) {
	for i := range m.Aliases {
		if m.Aliases[i].Name != name {
			continue
		}
		if m.state == nil {
			m.state = map[string]*entry{}
		}
		e := m.state[name]
		if e == nil {
			e = &entry{}
			m.state[name] = e
		}
		return &m.Aliases[i], e
	}
	return nil, nil
}

// Require loads the required aliases of container in order, each
// module in its alias's order, and stops at the first that fails: the
// error names the alias and the module ("driver wifi: module brcmfmac:
// ..."). An alias bsp/drivers.json does not define fails too
// (ErrUnknownAlias; upstream skips it silently).
func (m *Manager) Require(container string, aliases []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range aliases {
		if err := m.load(container, a); err != nil {
			return printf.Errorf("required %w", err)
		}
	}
	return nil
}

// Optional loads the optional aliases of container, best effort: it
// returns one warning for each alias that is undefined or failed, to be
// logged.
func (m *Manager) Optional(container string, aliases []string) []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var warns []error
	for _, a := range aliases {
		if err := m.load(container, a); err != nil {
			warns = append(warns, printf.Errorf("optional %w", err))
		}
	}
	return warns
}

// Load loads one alias for container (a manual one, from pv-ctrl; the
// caller checks that container names it as manual).
func (m *Manager) Load(container, alias string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.load(container, alias)
}

// load loads every module of alias, keeping on after a failure as
// upstream, and makes container a holder when all loaded. An alias
// without modules loads nothing and stays UNLOADED, as upstream.
func (m *Manager) load(container, alias string) error {
	a, e := m.alias(alias)
	if a == nil {
		return printf.Errorf("driver %s: %w", alias, ErrUnknownAlias)
	}
	var errs []error
	for _, line := range a.Modules {
		if err := m.probe(line); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return printf.Errorf("driver %s: %w", alias, errors.Join(errs...))
	}
	if len(a.Modules) > 0 {
		e.loaded = true
	}
	if !slices.Contains(e.holders, container) {
		e.holders = append(e.holders, container)
	}
	return nil
}

// probe loads one module line after substituting its user-meta.
func (m *Manager) probe(line string) error {
	x, err := Expand(line, m.UserMeta)
	if err != nil {
		return err
	}
	mod, params := splitLine(x)
	if mod == "" {
		return printf.Errorf("%w %q: no module name", ErrBadLine, line)
	}
	if err := m.loader().Probe(mod, params); err != nil {
		return namedModule(mod, err)
	}
	return nil
}

// namedModule returns err prefixed "module <mod>: " unless it already
// starts so, as kmod.Loader's not-found errors do ("module X: module not
// found", "module X needs Y: …"): one line names the module once.
func namedModule(mod string, err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, "module "+mod+": ") || strings.HasPrefix(msg, "module "+mod+" ") {
		return err
	}
	return printf.Errorf("module %s: %w", mod, err)
}

// Unload drops container's hold on alias and, when no other container
// holds it, unloads its modules in reverse order (the module name of
// each line; the modules they pulled in stay loaded). It keeps on after a
// failure and the alias stays LOADED then, as upstream. An alias another
// container holds is left loaded: ErrInUse, naming the holders.
func (m *Manager) Unload(container, alias string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, e := m.alias(alias)
	if a == nil {
		return printf.Errorf("driver %s: %w", alias, ErrUnknownAlias)
	}
	e.holders = slices.DeleteFunc(e.holders, func(c string) bool { return c == container })
	if len(e.holders) > 0 {
		return printf.Errorf("driver %s: %w by %s", alias, ErrInUse, strings.Join(e.holders, ", "))
	}
	if !e.loaded {
		return nil
	}
	var errs []error
	for i := len(a.Modules) - 1; i >= 0; i-- {
		mod, _ := splitLine(a.Modules[i])
		if err := m.loader().Unload(mod); err != nil {
			errs = append(errs, printf.Errorf("module %s: %w", mod, err))
		}
	}
	if len(errs) > 0 {
		return printf.Errorf("driver %s: %w", alias, errors.Join(errs...))
	}
	e.loaded = false
	return nil
}

// Release drops every hold of container, which stopped. The modules stay
// loaded, as upstream (see Manager).
func (m *Manager) Release(container string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.state {
		e.holders = slices.DeleteFunc(e.holders, func(c string) bool { return c == container })
	}
}

// Holders returns the containers holding alias, in the order they took it.
func (m *Manager) Holders(alias string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.state[alias]; e != nil {
		return slices.Clone(e.holders)
	}
	return nil
}

// List returns the statuses of a container's aliases d, required then
// optional then manual, as GET /drivers shows them (AppendJSON). A nil
// Manager (no driver management) lists every alias as UNKNOWN.
func (m *Manager) List(d state.Drivers) []Status {
	var out []Status
	if m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
	}
	for _, l := range kinds(d) {
		for _, name := range l.names {
			s := Status{Name: name, Kind: l.kind}
			if m != nil {
				s.State = m.load1(name)
			}
			out = append(out, s)
		}
	}
	return out
}

// load1 is the load state of one alias; the caller holds mu.
func (m *Manager) load1(name string) Load {
	a, e := m.alias(name)
	switch {
	case a == nil:
		return Unknown
	case e.loaded:
		return Loaded
	}
	return Unloaded
}
