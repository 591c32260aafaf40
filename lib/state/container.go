package state

import (
	"errors"
	"path"
	"strconv"
	"strings"

	"pantavisor/lib/rawjson"
)

// Container is one "<c>/run.json" (upstream calls it a platform).
type Container struct {
	Key           string // "<dir>/run.json"
	Dir           string // "<dir>": where its files live in the revision
	Name          string
	Type          string // "lxc"
	Config        string // LXC config, relative to Dir; "" for data-only containers
	RootVolume    string // rootfs artifact relative to Dir
	RootHandler   string // "dm" of "dm:root.squashfs"; "" for a plain loop mount
	Volumes       []string
	Storage       []Volume
	Group         string
	Runlevel      string // legacy, mapped to Group
	Roles         []string
	Mgmt          bool // roles absent (upstream default) or containing "mgmt"
	RestartPolicy string
	StatusGoal    string
	AutoRecovery  *AutoRecovery
	Drivers       Drivers
	Logs          []Log
	Network       *Network
	Services      rawjson.Value // xconnect consumer, as written
	Exports       bool
	DevLog        *bool // nil: follow PV_LOG_AUTO_DEVLOG
	AutoModFW     bool  // bind /lib/firmware and /lib/modules (default true)
	Share         string
}

// Drivers are the driver aliases a container needs.
type Drivers struct {
	Required, Optional, Manual []string
}

// Log is one "logs" entry: which file or stream pvlogger follows.
type Log struct {
	File, Name, Truncate, MaxSize, LXC, Console string
}

// parseContainers reads every "<c>/run.json" in state order.
func (s *State) parseContainers(Options) error {
	for _, k := range s.Keys {
		if k.Class != ClassRun {
			continue
		}
		c, err := s.parseRun(k.Name, k.Value)
		if err != nil {
			return err
		}
		if s.Container(c.Name) != nil {
			return errorf(k.Name, "name: duplicate container %q", c.Name)
		}
		s.Containers = append(s.Containers, c)
	}
	return nil
}

// parseRun reads one run.json. Upstream looks keys up by prefix (a quirk
// we do not copy: a key must match exactly).
func (s *State) parseRun(key string, v rawjson.Value) (*Container, error) {
	f := newFields(key, "", v)
	c := &Container{
		Key: key, Dir: strings.TrimSuffix(key, "/run.json"),
		Name: f.str("name"), Type: f.str("type"), Config: f.str("config"),
		Volumes: f.strs("volumes"), Group: f.str("group"),
		Runlevel:      f.oneOf("runlevel", "data", "root", "platform", "app"),
		RestartPolicy: f.oneOf("restart_policy", PolicySystem, PolicyContainer),
		StatusGoal:    f.oneOf("status_goal", GoalMounted, GoalStarted, GoalReady),
		AutoModFW:     f.str("automodfw") != "no",
		Exports:       f.has("exports"),
		Share:         f.str("share"),
	}
	c.RootHandler, c.RootVolume = splitHandler(f.str("root-volume"))
	c.AutoRecovery = f.autoRecovery("auto_recovery")
	c.Roles, c.Mgmt = f.roles()
	c.Drivers = f.drivers()
	c.Logs = f.logs()
	c.Network = f.network()
	c.Services, _ = v.Get("services")
	c.DevLog = f.devLog()
	if f.err != nil {
		return nil, f.err
	}
	if c.Type != "" && c.Type != "lxc" {
		return nil, errorf(key, "type: unsupported container type %q, want \"lxc\"", c.Type)
	}
	if err := s.checkContainerPaths(c); err != nil {
		return nil, err
	}
	if st, ok := v.Get("storage"); ok {
		vols, err := s.parseVolumes(key, "storage", st)
		if err != nil {
			return nil, err
		}
		c.Storage = vols
	}
	return c, nil
}

// checkContainerPaths checks the name and every file the container refers
// to: all must stay inside its directory of the revision.
func (s *State) checkContainerPaths(c *Container) error {
	if c.Name == "" {
		return errorf(c.Key, "name: missing")
	}
	if err := CheckName(c.Name); err != nil {
		return errorf(c.Key, "name: invalid container name %q: %v", c.Name, err)
	}
	if c.Name != c.Dir {
		s.warnf("%s: name %q differs from its directory %q: its files are not linked to it", c.Key, c.Name, c.Dir)
	}
	files := []asset{{"config", c.Config}, {"root-volume", c.RootVolume}}
	for i, v := range c.Volumes {
		files = append(files, asset{"volumes[" + strconv.Itoa(i) + "]", v})
	}
	for _, a := range files {
		if a.path == "" {
			continue
		}
		if err := CheckPath(a.path); err != nil {
			return errorf(c.Key, "%s: %q points outside the container: %v", a.field, a.path, err)
		}
	}
	if c.Config != "" && !s.Has(path.Join(c.Dir, c.Config)) {
		return errorf(c.Key, "config: %s is not in the state", path.Join(c.Dir, c.Config))
	}
	return nil
}

// splitHandler splits "dm:root.squashfs" into handler and volume.
func splitHandler(v string) (handler, volume string) {
	if h, rest, ok := strings.Cut(v, ":"); ok {
		return h, rest
	}
	return "", v
}

// roles reads "roles": absent means mgmt (upstream code; the docs say no
// role). Present, only an explicit "mgmt" grants it.
func (f *fields) roles() ([]string, bool) {
	v, ok := f.v.Get("roles")
	if !ok {
		return nil, true
	}
	switch v.Kind {
	case rawjson.Array:
		roles := f.strs("roles")
		for _, r := range roles {
			if r != "mgmt" && r != "nobody" {
				f.failf("roles", "unknown role %q, want \"mgmt\" or \"nobody\"", r)
			}
		}
		return roles, contains(roles, "mgmt")
	case rawjson.Object:
		return nil, false // upstream accepts an object: it clears mgmt
	}
	f.failf("roles", "want an array, got %s", v.Kind)
	return nil, false
}

func (f *fields) drivers() Drivers {
	v, ok := f.obj("drivers")
	if !ok {
		return Drivers{}
	}
	d := newFields(f.key, "drivers.", v)
	out := Drivers{Required: d.strs("required"), Optional: d.strs("optional"), Manual: d.strs("manual")}
	if d.err != nil && f.err == nil {
		f.err = d.err
	}
	return out
}

func (f *fields) logs() []Log {
	v, ok := f.get("logs", rawjson.Array)
	if !ok {
		return nil
	}
	var out []Log
	for i, it := range v.Items {
		l := newFields(f.key, "logs["+strconv.Itoa(i)+"].", it)
		if it.Kind != rawjson.Object {
			f.failf("logs["+strconv.Itoa(i)+"]", "want an object, got %s", it.Kind)
			return nil
		}
		out = append(out, Log{File: l.str("file"), Name: l.str("name"), Truncate: l.str("truncate"),
			MaxSize: l.str("maxsize"), LXC: l.str("lxc"), Console: l.str("console")})
		if l.err != nil && f.err == nil {
			f.err = l.err
		}
	}
	return out
}

// devLog reads "dev-log": true/false, as a JSON boolean or string.
func (f *fields) devLog() *bool {
	v, ok := f.v.Get("dev-log")
	if !ok {
		return nil
	}
	s := string(v.Raw)
	if v.Kind == rawjson.String {
		s = v.Str
	}
	switch s {
	case "true":
		b := true
		return &b
	case "false":
		b := false
		return &b
	}
	f.failf("dev-log", "want true or false, got %s", v.Raw)
	return nil
}

// ParseDuration reads upstream's "<N>s", "<N>min", "<N>h" or bare seconds,
// returning seconds.
func ParseDuration(s string) (int, error) {
	num, mul := s, 1
	switch {
	case strings.HasSuffix(s, "min"):
		num, mul = s[:len(s)-3], 60
	case strings.HasSuffix(s, "s"):
		num = s[:len(s)-1]
	case strings.HasSuffix(s, "h"):
		num, mul = s[:len(s)-1], 3600
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || num == "" || num[0] == '+' {
		return 0, errors.New("want <N>s, <N>min or <N>h")
	}
	return n * mul, nil
}
