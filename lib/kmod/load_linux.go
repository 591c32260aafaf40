package kmod

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// Loader loads module files. The zero value loads real modules from
// /lib/modules/<running kernel>.
type Loader struct {
	// Dir is the modules directory; empty means /lib/modules/<uname -r>.
	Dir string
	// Load replaces finit_module in tests; nil means the real syscall.
	Load func(file, params string) error
	// Remove replaces delete_module in tests; nil means the real syscall.
	Remove func(name string) error
}

// LoadFile loads one module file with finit_module(2). A module that is
// already loaded (EEXIST) is not an error.
func LoadFile(file, params string) error {
	f, err := os.Open(file)
	if err != nil {
		return printf.Errorf("loading module %s: %w", file, err)
	}
	defer f.Close()
	err = eintr.Retry(func() error { return unix.FinitModule(int(f.Fd()), params, 0) })
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return printf.Errorf("finit_module %s: %w", file, err)
	}
	return nil
}

// RemoveModule unloads the module called name with delete_module(2)
// (O_NONBLOCK: a module in use fails with EWOULDBLOCK/EBUSY instead of
// waiting). A module that is not loaded (ENOENT) is not an error.
func RemoveModule(name string) error {
	name = Name(name)
	err := eintr.Retry(func() error { return unix.DeleteModule(name, unix.O_NONBLOCK) })
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return printf.Errorf("delete_module %s: %w", name, err)
	}
	return nil
}

// Unload unloads the module called name (not its dependencies: unlike
// modprobe -r, modules it pulled in stay loaded).
func (l *Loader) Unload(name string) error {
	if l.Remove != nil {
		return l.Remove(Name(name))
	}
	return RemoveModule(name)
}

// ModulesDir returns /lib/modules/<release of the running kernel>.
func ModulesDir() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", printf.Errorf("uname: %w", err)
	}
	return filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:])), nil
}

func (l *Loader) dir() (string, error) {
	if l.Dir != "" {
		return l.Dir, nil
	}
	return ModulesDir()
}

func (l *Loader) load(file, params string) error {
	if l.Load != nil {
		return l.Load(file, params)
	}
	return LoadFile(file, params)
}

// Probe loads the named module after its dependencies, as listed in the
// modules.dep of the loader's directory. A name that is no module's is
// looked up in modules.alias, and every module providing it is loaded
// (the kernel's request_module asks for aliases). params apply to the
// named module only.
func (l *Loader) Probe(name, params string) error {
	t, err := l.tables()
	if err != nil {
		return printf.Errorf("modprobe %s: %w", name, err)
	}
	return t.probe(name, params)
}

// ProbeEach probes each name as Probe does, without parameters, reading
// modules.dep and modules.alias once for all of them, and goes on after
// a failure: it returns the failures, in order (none: nil).
func (l *Loader) ProbeEach(names ...string) []error {
	t, err := l.tables()
	if err != nil {
		return []error{printf.Errorf("modprobe %v: %w", names, err)}
	}
	var errs []error
	for _, name := range names {
		if err := t.probe(name, ""); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// tables is what Probe reads from a modules directory: modules.dep, and
// modules.alias once a name is no module's.
type tables struct {
	l       *Loader
	dir     string
	deps    *Deps
	aliases []Alias
	read    bool // aliases was read (or found missing)
}

func (l *Loader) tables() (*tables, error) {
	dir, err := l.dir()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, err
	}
	deps, err := ParseDep(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	return &tables{l: l, dir: dir, deps: deps}, nil
}

func (t *tables) probe(name, params string) error {
	names := []string{name}
	if _, ok := t.deps.Path(name); !ok {
		if mods := t.aliased(name); len(mods) > 0 {
			names = mods
		}
	}
	files, err := t.deps.Order(names...)
	if err != nil {
		return err
	}
	for i, file := range files {
		p := ""
		if i == len(files)-1 {
			p = params
		}
		if err := t.l.load(filepath.Join(t.dir, file), p); err != nil {
			return err
		}
	}
	return nil
}

// aliased returns the modules modules.alias names for name; none when
// it has no such line or no readable modules.alias (Order then reports
// the name unknown).
func (t *tables) aliased(name string) []string {
	if !t.read {
		t.read = true
		if f, err := os.Open(filepath.Join(t.dir, "modules.alias")); err == nil {
			if a, err := ParseAlias(f); err == nil { // unreadable: no aliases, as documented
				t.aliases = a
			}
			f.Close()
		}
	}
	return Resolve(t.aliases, name)
}

// LoadList loads every file named in the load list at path, in order, and
// keeps going after a failure. It returns how many loaded and the failures.
func (l *Loader) LoadList(path string) (int, []error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, []error{err}
	}
	files, err := ParseList(f)
	f.Close()
	if err != nil {
		return 0, []error{err}
	}
	var errs []error
	n := 0
	for _, file := range files {
		if err := l.load(file, ""); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errs
}
