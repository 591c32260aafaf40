package kmod

import (
	"bufio"
	"io"
	"path"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrNotFound is returned when a module name is not in the dependency table.
var ErrNotFound error = &sentinel.Error{Text: "module not found"}

// Deps maps a module file path (as written in modules.dep, relative to the
// modules directory) to the paths of the modules it depends on.
type Deps struct {
	deps   map[string][]string
	byName map[string]string
}

// Name returns the module name of a module file path: the base name without
// the .ko (and compression) suffix, with dashes folded to underscores as the
// kernel does.
func Name(file string) string {
	base := path.Base(file)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ParseDep reads the modules.dep format ("path: dep dep ...", one module a
// line; blank lines and # comments ignored).
func ParseDep(r io.Reader) (*Deps, error) {
	d := NewDeps()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		mod = strings.TrimSpace(mod)
		if !ok || mod == "" {
			return nil, printf.Errorf("modules.dep line %d: want \"path: deps\", got %q", n, line)
		}
		d.Add(mod, strings.Fields(rest))
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("reading modules.dep: %w", err)
	}
	return d, nil
}

// NewDeps returns an empty table.
func NewDeps() *Deps {
	return &Deps{deps: map[string][]string{}, byName: map[string]string{}}
}

// Add records that module file mod depends on the files in deps.
func (d *Deps) Add(mod string, deps []string) {
	d.deps[mod] = deps
	d.byName[Name(mod)] = mod
}

// Path returns the file of the module called name.
func (d *Deps) Path(name string) (string, bool) {
	p, ok := d.byName[Name(name)]
	return p, ok
}

// Order returns the files to load for the named modules, every dependency
// before its users and each file once. It fails on an unknown name, an unknown
// dependency or a dependency cycle.
func (d *Deps) Order(names ...string) ([]string, error) {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(file, from string) error
	visit = func(file, from string) error {
		switch state[file] {
		case 1:
			return printf.Errorf("module %s: dependency cycle through %s", from, file)
		case 2:
			return nil
		}
		deps, ok := d.deps[file]
		if !ok {
			return printf.Errorf("module %s needs %s: %w", from, file, ErrNotFound)
		}
		state[file] = 1
		for _, dep := range deps {
			if err := visit(dep, file); err != nil {
				return err
			}
		}
		state[file] = 2
		out = append(out, file)
		return nil
	}
	for _, name := range names {
		file, ok := d.Path(name)
		if !ok {
			return nil, printf.Errorf("module %s: %w", name, ErrNotFound)
		}
		if err := visit(file, name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteDep writes the entries of the given files, in that order, in
// modules.dep format.
func (d *Deps) WriteDep(w io.Writer, order []string) error {
	for _, mod := range order {
		line := mod + ":"
		if deps := d.deps[mod]; len(deps) > 0 {
			line += " " + strings.Join(deps, " ")
		}
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// ParseList reads a load list: one module file path a line, in load order,
// blank lines and # comments ignored.
func ParseList(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("reading module list: %w", err)
	}
	return out, nil
}
