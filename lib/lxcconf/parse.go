package lxcconf

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"pantavisor/lib/printf"
)

const (
	maxLine  = 1 << 20 // longest line read (LXC has no limit)
	maxDepth = 16      // deepest lxc.include nesting (LXC has no limit and recurses forever on a loop)
	pathMax  = 4096    // PATH_MAX: LXC refuses path values this long
	blanks   = " \t\r" // what LXC trims around keys and values
)

// Options holds the seams of Parse and Load. The zero value reads the host
// filesystem.
type Options struct {
	// FS opens Load's file and the files and directories named by
	// lxc.include and lxc.mount.fstab. Names are passed as host paths:
	// absolute, or relative to the working directory, with relative values
	// first joined to the directory of the file that names them. nil means
	// the host filesystem (os.Open, any path).
	FS fs.FS
	// NotApplied, when set, is asked about every key line Parse accepts
	// with a non-empty value (under its current name for a legacy key). A
	// non-nil answer becomes a Warning at that line wrapping it: the
	// caller's way to flag settings it parses but does not apply. nil:
	// no such warnings.
	NotApplied func(key, value string) error
}

// hostFS opens host paths as they are, which os.DirFS does not allow.
type hostFS struct{}

func (hostFS) Open(name string) (fs.File, error) { return os.Open(name) }

func (o Options) fsys() fs.FS {
	if o.FS == nil {
		return hostFS{}
	}
	return o.FS
}

// Parse reads a configuration from r with the zero Options; see
// Options.Parse.
func Parse(r io.Reader, name string) (*Config, []Warning, error) {
	return Options{}.Parse(r, name)
}

// Load reads the configuration file at path with the zero Options.
func Load(path string) (*Config, []Warning, error) { return Options{}.Load(path) }

// Load opens path through o.FS and parses it.
func (o Options) Load(path string) (*Config, []Warning, error) {
	f, err := o.fsys().Open(path)
	if err != nil {
		return nil, nil, printf.Errorf("opening lxc config: %w", err)
	}
	defer f.Close()
	return o.Parse(f, path)
}

// Parse reads a configuration from r. name is the file r holds: warnings
// and errors cite it with line numbers, and relative lxc.include and
// lxc.mount.fstab values are resolved against its directory. Steps:
//  1. read r line by line from New's defaults, reading included files
//     and directories where lxc.include stands;
//  2. read the lxc.mount.fstab file (the last one set) into FstabMounts;
//  3. refuse lxc.cap.keep together with lxc.cap.drop, as LXC does.
//
// On error the Config is nil; the warnings gathered so far come back.
func (o Options) Parse(r io.Reader, name string) (*Config, []Warning, error) {
	if name != "" {
		name = filepath.Clean(name)
	}
	p := &parser{fsys: o.fsys(), cfg: New(), netLegacy: -1, notApplied: o.NotApplied}
	if err := p.read(r, name); err != nil {
		return nil, p.warns, err
	}
	if err := p.finish(); err != nil {
		return nil, p.warns, err
	}
	return p.cfg, p.warns, nil
}

// parser is the state of one Parse.
type parser struct {
	fsys      fs.FS
	cfg       *Config
	warns     []Warning
	stack     []string // files being read, outermost first
	capKeepAt pos      // last line that set lxc.cap.keep
	capDropAt pos      // last line that set lxc.cap.drop
	fstabAt   pos      // line that set lxc.mount.fstab
	netLegacy int      // index the last legacy lxc.network.type opened, -1 none

	notApplied func(key, value string) error // Options.NotApplied
}

// read parses the lines of the file name, whose content r holds.
func (p *parser) read(r io.Reader, name string) error {
	if len(p.stack) >= maxDepth || slices.Contains(p.stack, name) {
		return printf.Errorf("%w: %s", ErrInclude, strings.Join(append(slices.Clip(p.stack), name), " -> "))
	}
	p.stack = append(p.stack, name)
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		if err := p.line(pos{name, n}, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return printf.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// line parses one line as LXC's parse_line does: blanks trimmed, '#'
// comment lines and blank lines skipped, split at the first '=', one pair
// of matching quotes around the value removed. A key not starting with
// "lxc." is ignored with a warning (LXC ignores it silently).
func (p *parser) line(at pos, text string) error {
	s := strings.TrimLeft(text, blanks)
	if s == "" || s[0] == '#' {
		return nil
	}
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimRight(k, blanks)
	if !ok || k == "" {
		return lineError(at, strings.TrimRight(s, blanks), ErrSyntax)
	}
	v = unquote(strings.Trim(v, blanks))
	if !strings.HasPrefix(k, "lxc.") {
		p.warn(at, k, ErrUnknownKey)
		return nil
	}
	if err := p.set(at, k, v); err != nil {
		return lineError(at, k, err)
	}
	return nil
}

// unquote removes one pair of matching single or double quotes around v.
func unquote(v string) string {
	if len(v) > 1 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// warn records a warning about the key at a line.
func (p *parser) warn(at pos, key string, err error) {
	p.warns = append(p.warns, Warning{File: at.file, Line: at.line, Key: key, Err: err})
}

// resolve joins a relative path value to the directory of the file naming it.
func resolve(from, v string) string {
	if filepath.IsAbs(v) {
		return filepath.Clean(v)
	}
	return filepath.Join(filepath.Dir(from), v)
}

// include reads a file, or every *.conf of a directory in name order (LXC
// takes readdir order), where lxc.include stands.
func (p *parser) include(at pos, v string) error {
	if v == "" {
		return nil
	}
	path := resolve(at.file, v)
	st, err := fs.Stat(p.fsys, path)
	if err != nil {
		return printf.Errorf("including: %w", err)
	}
	if !st.IsDir() {
		return p.readFile(path)
	}
	ents, err := fs.ReadDir(p.fsys, path)
	if err != nil {
		return printf.Errorf("including: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); len(n) > len(".conf") && strings.HasSuffix(n, ".conf") {
			if err := p.readFile(filepath.Join(path, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFile opens and reads one included file.
func (p *parser) readFile(path string) error {
	f, err := p.fsys.Open(path)
	if err != nil {
		return printf.Errorf("including: %w", err)
	}
	defer f.Close()
	return p.read(f, path)
}

// finish does the checks and reads that need the whole configuration.
func (p *parser) finish() error {
	c := p.cfg
	if (c.CapKeepNone || len(c.CapKeep) > 0) && len(c.CapDrop) > 0 {
		return printf.Errorf("%w: lxc.cap.keep (%s) and lxc.cap.drop (%s): LXC accepts only one of them",
			ErrConflict, p.capKeepAt, p.capDropAt)
	}
	if c.Fstab == "" {
		return nil
	}
	f, err := p.fsys.Open(c.Fstab)
	if err != nil {
		return lineError(p.fstabAt, "lxc.mount.fstab", err)
	}
	defer f.Close()
	if c.FstabMounts, err = ReadFstab(f, c.Fstab); err != nil {
		return lineError(p.fstabAt, "lxc.mount.fstab", err)
	}
	return nil
}
