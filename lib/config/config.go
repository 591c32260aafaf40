package config

import (
	"io"
	"path"
	"strconv"
	"strings"
	"sync"

	"pantavisor/lib/printf"
)

// Level is where a value comes from. Levels are ordered: for each key the
// value of the highest level that set it is in effect.
type Level uint8

// The levels, lowest first.
const (
	LevelDefault   Level = iota // built-in defaults; cannot be set
	LevelArgs                   // pantavisor's own argv (pv_debug, pv_<init mode>)
	LevelPVConf                 // /etc/pantavisor.config
	LevelPHConf                 // pantahub.config
	LevelPHClient               // creds learnt by the Hub client
	LevelPolicy                 // /etc/pantavisor/policies/<PV_POLICY>.config
	LevelOEM                    // trails/<rev>/<PV_OEM_NAME>/<PV_POLICY|default>.config
	LevelPVCmdline              // kernel command line pv_<key>=<value>
	LevelPHCmdline              // kernel command line ph_<key>=<value>
	LevelEnv                    // PV_* and PH_* environment variables
	LevelMeta                   // user metadata; unset when the key is removed
	LevelCmd                    // control commands
	numLevels
)

// levelNames are upstream's names, as the /config2 endpoint reports them.
var levelNames = [numLevels]string{"default", "args", "pv conf file", "ph conf file", "ph client",
	"policy", "oem config", "pv cmdline", "ph cmdline", "env", "metadata", "command"}

// String returns the upstream name of l ("pv conf file", "metadata", …).
func (l Level) String() string {
	if l < numLevels {
		return levelNames[l]
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// Config holds the values of every key at every level. It is safe for
// concurrent use. The zero value holds the defaults only; New returns the
// same with the real directory check.
type Config struct {
	// IsDir reports whether p is a directory. It decides which '_' of a
	// PV_SYSCTL_* name are '/' in the /proc/sys path. nil means os.Stat.
	IsDir func(p string) bool

	mu   sync.RWMutex
	vals [len(keys)][]setting // per key, sorted by level
	sys  []sysSetting         // sorted by path, then level
}

// New returns a Config holding the defaults.
func New() *Config { return &Config{IsDir: isDir} }

// Set sets key to value at level l. key is a canonical name, a legacy alias
// or a sysctl name (PV_SYSCTL_*, sysctl.*), case-insensitive. A nil error
// means the value was applied. Otherwise the error is a Warning: its Err
// wraps ErrLegacyKey when the value was applied through an alias, and
// ErrUnknownKey, ErrNotAllowed or ErrBadValue when nothing changed.
func (c *Config) Set(l Level, key, value string) error {
	if isSysctl(key) {
		return c.setSysctl(l, key, value)
	}
	i, legacy := find(key)
	if i < 0 {
		return Warning{Level: l, Key: key, Value: value, Err: ErrUnknownKey}
	}
	k := &keys[i]
	shown := value
	if k.Secret {
		shown = secret
	}
	if l == LevelDefault || !k.Levels.Has(l) {
		return Warning{Level: l, Key: key, Value: shown, Err: printf.Errorf("%w: %s", ErrNotAllowed, k.Name)}
	}
	v, err := parseValue(k, value)
	if err != nil {
		return Warning{Level: l, Key: key, Value: shown, Err: printf.Errorf("%w: %v", ErrBadValue, err)}
	}
	v.l = l
	c.mu.Lock()
	c.vals[i] = put(c.vals[i], v)
	c.mu.Unlock()
	if legacy {
		return Warning{Level: l, Key: key, Value: shown, Err: printf.Errorf("%w, read as %s", ErrLegacyKey, k.Name)}
	}
	return nil
}

// put replaces or inserts v in s, keeping s sorted by level.
func put(s []setting, v setting) []setting {
	i := 0
	for i < len(s) && s[i].l < v.l {
		i++
	}
	if i < len(s) && s[i].l == v.l {
		s[i] = v
		return s
	}
	s = append(s, setting{})
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// Unset removes the value key has at level l, so the value of the next
// lower level is in effect again (user metadata removed, OEM file gone).
// It returns a Warning wrapping ErrUnknownKey for an unknown key.
func (c *Config) Unset(l Level, key string) error {
	if isSysctl(key) {
		p, err := c.sysctlPath(key)
		if err != nil {
			return Warning{Level: l, Key: key, Err: printf.Errorf("%w: %w", ErrUnknownKey, err)}
		}
		c.mu.Lock()
		c.dropSys(func(s sysSetting) bool { return s.path == p && s.l == l })
		c.mu.Unlock()
		return nil
	}
	i, _ := find(key)
	if i < 0 {
		return Warning{Level: l, Key: key, Err: ErrUnknownKey}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, v := range c.vals[i] {
		if v.l == l {
			c.vals[i] = append(c.vals[i][:j], c.vals[i][j+1:]...)
			break
		}
	}
	return nil
}

// Reset removes every value set at level l, e.g. before loading the OEM
// file of another revision.
func (c *Config) Reset(l Level) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.vals {
		for j, v := range c.vals[i] {
			if v.l == l {
				c.vals[i] = append(c.vals[i][:j], c.vals[i][j+1:]...)
				break
			}
		}
	}
	c.dropSys(func(s sysSetting) bool { return s.l == l })
}

// get returns the value in effect for key; ok is false for an unknown key.
func (c *Config) get(key string) (setting, bool) {
	i, _ := find(key)
	if i < 0 {
		return setting{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.value(i), true
}

// value returns the value in effect for keys[i]; c.mu must be held.
func (c *Config) value(i int) setting {
	if s := c.vals[i]; len(s) > 0 {
		return s[len(s)-1]
	}
	v, _ := parseValue(&keys[i], keys[i].Default) // defaults are tested to parse
	return v
}

// secret replaces the value of a Secret key when printed.
const secret = "<secret>"

// WriteTo writes the table in effect, one line per key sorted by name, then
// one line per sysctl sorted by path: name, level and quoted value separated
// by tabs. A set Secret value is written as <secret>. This is what the
// /config control endpoint reports.
func (c *Config) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	c.mu.RLock()
	for i := range keys {
		v := c.value(i)
		if keys[i].Secret && v.s != "" {
			v.s = secret
		}
		line(&b, keys[i].Name, v.l, v.s)
	}
	c.mu.RUnlock()
	for _, s := range c.Sysctls() {
		line(&b, s.Path, s.Level, s.Value)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func line(b *strings.Builder, name string, l Level, v string) {
	b.WriteString(name)
	b.WriteByte('\t')
	b.WriteString(l.String())
	b.WriteByte('\t')
	b.WriteString(strconv.Quote(v))
	b.WriteByte('\n')
}

// policy returns PV_POLICY if it is a usable file name ("" otherwise:
// upstream refuses a policy containing '/').
func (c *Config) policy() string {
	p := c.Get(Policy).String()
	if strings.Contains(p, "/") || p == "." || p == ".." {
		return ""
	}
	return p
}

// PolicyFile returns the policy file to load at LevelPolicy,
// <PV_SYSTEM_ETCPANTAVISORDIR>/policies/<PV_POLICY>.config, or "" when no
// usable policy is set. Its result depends on the levels loaded so far, so
// call it after the PV_CONF, PV_CMDLINE and ENV levels.
func (c *Config) PolicyFile() string {
	p := c.policy()
	if p == "" {
		return ""
	}
	return path.Join(c.Get(SystemEtcpantavisordir).String(), "policies", p+".config")
}

// OEMFile returns the path, relative to a revision's trail directory (and
// the state key), of the file to load at LevelOEM:
// <PV_OEM_NAME>/<PV_POLICY or "default">.config, or "" when PV_OEM_NAME is
// unset or not a plain name.
func (c *Config) OEMFile() string {
	oem := c.Get(OEMName).String()
	if oem == "" || strings.Contains(oem, "/") || oem == "." || oem == ".." {
		return ""
	}
	p := c.policy()
	if p == "" {
		p = "default"
	}
	return oem + "/" + p + ".config"
}
