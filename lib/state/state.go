// Package state parses and validates a Pantavisor state JSON
// (spec pantavisor-service-system@1) into a typed model that still holds
// every key's raw value bytes in the original order.
package state

import (
	"io"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Specs recognised in "#spec".
const (
	SpecSystem1 = "pantavisor-service-system@1"
	SpecMulti1  = "pantavisor-multi-platform@1" // legacy, refused
)

// MaxSize bounds a state JSON; real states are tens of kilobytes.
const MaxSize = 16 << 20

// State is one parsed revision state. Keys is every top-level key in input
// order with its raw value; the other fields are the typed model built from
// them. Warnings are problems upstream tolerates (logged, not fatal).
type State struct {
	Spec       string
	Keys       []Key
	BSP        *BSP // nil when the state has no bsp/run.json
	Drivers    []DriverSection
	Device     Device
	Containers []*Container // in state order
	Objects    []Object     // in state order
	JSONs      []JSON       // inline jsons installed as files, in state order
	Warnings   []string
}

// Key is one top-level member of the state.
type Key struct {
	Name  string
	Value rawjson.Value
	Class Class
	Owner string // container owning the key, "" for BSP/system
}

// Object is a key whose value is the sha256 of a blob in storage.
type Object struct {
	Name  string
	SHA   string
	Owner string
}

// JSON is an inline JSON value installed as a file of its raw bytes.
type JSON struct {
	Name  string
	Raw   []byte
	Owner string
}

// Error is a validation error about one key of the state.
type Error struct {
	Key    string
	Reason string
}

func (e *Error) Error() string { return e.Key + ": " + e.Reason }

func errorf(key, format string, args ...any) *Error {
	return &Error{Key: key, Reason: printf.Sprintf(format, args...)}
}

// Options are the configuration values parsing depends on. The zero value
// means upstream defaults.
type Options struct {
	GoalsTimeout  int    // default group timeout, PV_UPDATER_GOALS_TIMEOUT (120)
	KernelRelease string // selects bsp/run.json "modules_<release>"
	FitConfig     string // PV_BOOTLOADER_FITCONFIG: drivers.json "fitconfig:<name>"
}

// Read reads and parses a state of at most MaxSize bytes from r.
func Read(r io.Reader, opts Options) (*State, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, printf.Errorf("reading state: %w", err)
	}
	if len(data) > MaxSize {
		return nil, errorf("state", "larger than %d bytes", MaxSize)
	}
	return Parse(data, opts)
}

// Parse parses and validates a state. The State aliases data. Steps:
// read the top-level object, check the spec, classify every key, then
// parse device.json (or groups.json, or the default groups), the BSP, the
// containers, and finally assign containers to groups.
func Parse(data []byte, opts Options) (*State, error) {
	if opts.GoalsTimeout == 0 {
		opts.GoalsTimeout = 120
	}
	root, err := rawjson.Parse(data)
	if err != nil {
		return nil, &Error{Key: "state", Reason: err.Error()}
	}
	if root.Kind != rawjson.Object {
		return nil, errorf("state", "want a JSON object, got %s", root.Kind)
	}
	s := &State{}
	if err := s.readKeys(root); err != nil {
		return nil, err
	}
	steps := []func(Options) error{s.parseDevice, s.parseBSP, s.parseContainers, s.assignGroups, s.linkOwners}
	for _, step := range steps {
		if err := step(opts); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readKeys checks the spec and each key's name and value, and classifies it.
func (s *State) readKeys(root rawjson.Value) error {
	spec, ok := root.Get("#spec")
	switch {
	case !ok:
		return errorf("#spec", "missing")
	case spec.Kind != rawjson.String:
		return errorf("#spec", "want a string, got %s", spec.Kind)
	case spec.Str == SpecMulti1:
		return errorf("#spec", "unsupported spec %q (legacy format; rebuild the state with a current pvr)", spec.Str)
	case spec.Str != SpecSystem1:
		return errorf("#spec", "unsupported spec %q, want %q", spec.Str, SpecSystem1)
	}
	s.Spec = spec.Str
	seen := make(map[string]bool, len(root.Members))
	for _, m := range root.Members {
		if seen[m.Key] {
			return errorf(m.Key, "duplicate key")
		}
		seen[m.Key] = true
		k := Key{Name: m.Key, Value: m.Value}
		if m.Key != "#spec" {
			if err := CheckPath(m.Key); err != nil {
				return errorf(m.Key, "%v", err)
			}
		}
		c, err := Classify(m.Key, m.Value)
		if err != nil {
			return errorf(m.Key, "%v", err)
		}
		k.Class = c
		s.Keys = append(s.Keys, k)
	}
	return nil
}

// key returns the value of the top-level key name.
func (s *State) key(name string) (rawjson.Value, bool) {
	for _, k := range s.Keys {
		if k.Name == name {
			return k.Value, true
		}
	}
	return rawjson.Value{}, false
}

// Has reports whether the state has a top-level key name.
func (s *State) Has(name string) bool {
	_, ok := s.key(name)
	return ok
}

// Container returns the container called name, or nil.
func (s *State) Container(name string) *Container {
	for _, c := range s.Containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// UniqueObjects returns the distinct object hashes in first-use order.
func (s *State) UniqueObjects() []string {
	seen := make(map[string]bool, len(s.Objects))
	var out []string
	for _, o := range s.Objects {
		if !seen[o.SHA] {
			seen[o.SHA] = true
			out = append(out, o.SHA)
		}
	}
	return out
}

// Owner returns the container owning a state key: its first path component,
// or the second under "_config/"; "" when no container has that name.
func (s *State) Owner(name string) string {
	first, rest, _ := strings.Cut(name, "/")
	if first == "_config" {
		first, _, _ = strings.Cut(rest, "/")
	}
	if s.Container(first) != nil {
		return first
	}
	return ""
}

// linkOwners fills the Owner of every key and builds Objects and JSONs.
func (s *State) linkOwners(Options) error {
	for i := range s.Keys {
		k := &s.Keys[i]
		k.Owner = s.Owner(k.Name)
		switch k.Class {
		case ClassObject:
			s.Objects = append(s.Objects, Object{Name: k.Name, SHA: k.Value.Str, Owner: k.Owner})
		case ClassIgnored, ClassSpec:
		default:
			s.JSONs = append(s.JSONs, JSON{Name: k.Name, Raw: k.Value.Raw, Owner: k.Owner})
		}
	}
	return nil
}

func (s *State) warnf(format string, args ...any) {
	s.Warnings = append(s.Warnings, printf.Sprintf(format, args...))
}
