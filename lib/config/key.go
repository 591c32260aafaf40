package config

import (
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/printf"
)

// Key names one configuration key of the table; the constants of names.go
// are the only values. It is an index, not a string, so a misspelt key
// does not compile: code reads cfg.Get(config.StorageDevice), never a
// literal "PV_…". Text from users (files, the command line, user
// metadata, pv-ctrl) goes through ParseKey or Config.Set, which check it
// against the table.
type Key uint8

// Name returns the canonical name of k, e.g. "PV_STORAGE_DEVICE", or
// "key(N)" for a value that is no key.
func (k Key) Name() string {
	if k >= numKeys {
		return "key(" + strconv.Itoa(int(k)) + ")"
	}
	return keys[k].Name
}

// String returns k.Name().
func (k Key) String() string { return k.Name() }

// Spec returns the table row of k (zero for a value that is no key).
func (k Key) Spec() Spec {
	if k >= numKeys {
		return Spec{}
	}
	return keys[k]
}

// ParseKey finds the key named name: a canonical name or a legacy alias,
// ASCII case-insensitive, as Set accepts them. ok is false for a name that
// is no key (sysctl names included).
func ParseKey(name string) (k Key, ok bool) {
	i, _ := find(name)
	if i < 0 {
		return 0, false
	}
	return Key(i), true
}

// Value is the value in effect for a key, as Get returns it. The zero
// Value is an unset key: "", false, 0, at LevelDefault.
type Value setting

// String returns the canonical text of the value (secrets included).
func (v Value) String() string { return v.s }

// Bool returns the value as a boolean: any non-zero number is true.
func (v Value) Bool() bool { return v.n != 0 }

// Int returns the number of the value: an INT, BOOL 0/1, DURATION in
// seconds or SIZE in bytes or percent.
func (v Value) Int() int { return int(v.n) }

// Duration returns a DURATION or INT value as seconds.
func (v Value) Duration() time.Duration { return time.Duration(v.n) * time.Second }

// Size returns a SIZE value: n bytes, or n percent when percent is true.
func (v Value) Size() (n int64, percent bool) { return v.n, strings.HasSuffix(v.s, "%") }

// Level returns the level that set the value (LevelDefault if none did).
func (v Value) Level() Level { return v.l }

// Get returns the value in effect for k.
func (c *Config) Get(k Key) Value {
	if k >= numKeys {
		return Value{}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Value(c.value(int(k)))
}

// Override sets k to value at LevelCmd, the highest level, whatever the
// levels the key's mask allows: it is for a front end's own command-line
// options that name a key (appengine's --rundir is PV_SYSTEM_RUNDIR), so
// that they win over files, the kernel command line and the environment
// and every reader sees them through the same Config. The value is checked
// against the key's type; a bad one is refused with a Warning wrapping
// ErrBadValue and nothing changes. /config2 reports such a value as set by
// "command". Unset(LevelCmd, name) removes it again.
func (c *Config) Override(k Key, value string) error {
	if k >= numKeys {
		return Warning{Level: LevelCmd, Key: k.Name(), Value: value, Err: ErrUnknownKey}
	}
	spec := &keys[k]
	v, err := parseValue(spec, value)
	if err != nil {
		shown := value
		if spec.Secret {
			shown = secret
		}
		return Warning{Level: LevelCmd, Key: spec.Name, Value: shown, Err: printf.Errorf("%w: %v", ErrBadValue, err)}
	}
	v.l = LevelCmd
	c.mu.Lock()
	c.vals[k] = put(c.vals[k], v)
	c.mu.Unlock()
	return nil
}
