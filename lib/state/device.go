package state

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Status goals and restart policies of groups and containers.
const (
	GoalMounted = "MOUNTED"
	GoalStarted = "STARTED"
	GoalReady   = "READY"

	PolicySystem    = "system"
	PolicyContainer = "container"
)

// Device is what device.json (or the legacy groups.json/disks json) says.
type Device struct {
	Groups        []Group // start order
	DefaultGroups bool    // no device.json/groups.json: upstream defaults
	Disks         []Disk
	Volumes       []Volume      // device-level ("bsp") volumes
	Network       rawjson.Value // "network" as written (IPAM pools); Invalid when absent
}

// Group is a start stage of containers.
type Group struct {
	Name          string
	Description   string
	StatusGoal    string
	RestartPolicy string
	Timeout       int // seconds
	AutoRecovery  *AutoRecovery
}

// AutoRecovery is how a crashed container is restarted.
type AutoRecovery struct {
	Policy        string // no, always, on-failure, unless-stopped
	MaxRetries    int
	RetryDelay    int
	BackoffFactor float64
	ResetWindow   int
	StableTimeout int
	BackoffPolicy string // reboot, never, or a duration
}

// Disk is one entry of device.json "disks" (kept even where not acted on).
type Disk struct {
	Name, Path, MountTarget, MountOptions, FormatOptions  string
	Provision, ProvisionOptions, UUID, Type, Mode, Format string
	Default, MigrateKeyblob                               bool
	Aliases, Disks, InitOrder                             []string
}

// Volume is a named storage volume with its persistence and disk.
type Volume struct {
	Name        string
	Persistence string // permanent, revision, boot
	Disk        string
}

// Volume persistences.
const (
	PersistPermanent = "permanent"
	PersistRevision  = "revision"
	PersistBoot      = "boot"
)

var diskTypes = []string{"dm-crypt-versatile", "dm-crypt-caam", "dm-crypt-dcp", "swap-disk", "volume-disk", "dual"}

// DefaultGroups returns upstream's defaults/groups.json.
func DefaultGroups() []Group {
	return []Group{
		{Name: "data", Description: "Containers which volumes we want to mount but not to be started",
			StatusGoal: GoalMounted, RestartPolicy: PolicySystem, Timeout: 30},
		{Name: "root", Description: "Container or containers that are in charge of setting network connectivity up for the board",
			StatusGoal: GoalStarted, RestartPolicy: PolicySystem, Timeout: 30},
		{Name: "platform", Description: "Middleware and utility containers",
			StatusGoal: GoalStarted, RestartPolicy: PolicySystem, Timeout: 30},
		{Name: "app", Description: "Application level containers",
			StatusGoal: GoalStarted, RestartPolicy: PolicyContainer, Timeout: 30,
			AutoRecovery: &AutoRecovery{Policy: "on-failure", MaxRetries: 5, RetryDelay: 5, BackoffFactor: 2.0,
				StableTimeout: 30, BackoffPolicy: "reboot"}},
	}
}

// parseDevice reads device.json, else groups.json and the disks jsons,
// else the default groups.
func (s *State) parseDevice(opts Options) error {
	if dev, ok := s.key("device.json"); ok {
		if g, ok := dev.Get("groups"); ok {
			groups, err := parseGroups("device.json", "groups", g, opts)
			if err != nil {
				return err
			}
			s.Device.Groups = groups
			if err := s.parseDeviceRest(dev); err != nil {
				return err
			}
		} else {
			s.warnf("device.json: no \"groups\": the rest of device.json is ignored, as upstream does")
		}
	} else {
		if g, ok := s.key("groups.json"); ok {
			groups, err := parseGroups("groups.json", "", g, opts)
			if err != nil {
				return err
			}
			s.Device.Groups = groups
		}
		for _, k := range []string{"disks.json", "disks_v3.json"} {
			if d, ok := s.key(k); ok {
				disks, err := parseDisks(k, "", d, k == "disks.json")
				if err != nil {
					return err
				}
				s.Device.Disks = append(s.Device.Disks, disks...)
			}
		}
	}
	if s.Device.Groups == nil {
		s.Device.Groups = DefaultGroups()
		s.Device.DefaultGroups = true
	}
	return nil
}

// parseDeviceRest reads device.json's disks, volumes and network.
func (s *State) parseDeviceRest(dev rawjson.Value) error {
	for _, k := range []string{"disks", "disks_v2", "disks_v3"} {
		if d, ok := dev.Get(k); ok {
			disks, err := parseDisks("device.json", k, d, k != "disks_v3")
			if err != nil {
				return err
			}
			s.Device.Disks = append(s.Device.Disks, disks...)
		}
	}
	if err := checkDiskAliases(s.Device.Disks); err != nil {
		return err
	}
	if v, ok := dev.Get("volumes"); ok {
		vols, err := s.parseVolumes("device.json", "volumes", v)
		if err != nil {
			return err
		}
		s.Device.Volumes = vols
	}
	s.Device.Network, _ = dev.Get("network")
	return nil
}

func parseGroups(key, path string, v rawjson.Value, opts Options) ([]Group, error) {
	if v.Kind != rawjson.Array {
		return nil, errorf(key, "%s: want an array of groups, got %s", path, v.Kind)
	}
	groups := []Group{}
	for i, g := range v.Items {
		p := printf.Sprintf("%s[%d].", path, i)
		if path == "" {
			p = printf.Sprintf("[%d].", i)
		}
		if g.Kind != rawjson.Object {
			return nil, errorf(key, "%s: want an object, got %s", p[:len(p)-1], g.Kind)
		}
		f := newFields(key, p, g)
		grp := Group{
			Name:          f.str("name"),
			Description:   f.str("description"),
			StatusGoal:    f.oneOf("status_goal", GoalMounted, GoalStarted, GoalReady),
			RestartPolicy: f.oneOf("restart_policy", PolicySystem, PolicyContainer),
			Timeout:       f.num("timeout", opts.GoalsTimeout),
		}
		grp.AutoRecovery = f.autoRecovery("auto_recovery")
		if f.err != nil {
			return nil, f.err
		}
		if grp.Name == "" {
			return nil, errorf(key, "%sname: missing", p)
		}
		for _, prev := range groups {
			if prev.Name == grp.Name {
				return nil, errorf(key, "%sname: duplicate group %q", p, grp.Name)
			}
		}
		if grp.StatusGoal == "" {
			grp.StatusGoal = GoalStarted
		}
		if grp.RestartPolicy == "" {
			grp.RestartPolicy = PolicyContainer
		}
		groups = append(groups, grp)
	}
	return groups, nil
}

func parseDisks(key, path string, v rawjson.Value, strict bool) ([]Disk, error) {
	if v.Kind != rawjson.Array {
		return nil, errorf(key, "%s: want an array of disks, got %s", path, v.Kind)
	}
	var disks []Disk
	for i, d := range v.Items {
		p := printf.Sprintf("%s[%d].", path, i)
		f := newFields(key, p, d)
		disk := Disk{
			Name: f.str("name"), Path: f.str("path"), MountTarget: f.str("mount_target"),
			MountOptions: f.str("mount_options"), FormatOptions: f.str("format_options"),
			Provision: f.str("provision"), ProvisionOptions: f.str("provision_options"),
			UUID: f.str("uuid"), Type: f.str("type"), Mode: f.oneOf("mode", "mainline", "nxp"),
			Format: f.str("format"), Default: f.str("default") == "yes",
			MigrateKeyblob: f.str("migrate_keyblob") == "yes",
			Aliases:        f.strs("aliases"), Disks: f.strs("disks"), InitOrder: f.strs("init_order"),
		}
		if d.Kind != rawjson.Object {
			return nil, errorf(key, "%s: want an object, got %s", p[:len(p)-1], d.Kind)
		}
		if f.err != nil {
			return nil, f.err
		}
		if disk.Name == "" {
			return nil, errorf(key, "%sname: missing", p)
		}
		if !contains(diskTypes, disk.Type) {
			if strict {
				return nil, errorf(key, "%stype: unknown disk type %q", p, disk.Type)
			}
			continue // disks_v3 skips what it does not know
		}
		disks = append(disks, disk)
	}
	return disks, nil
}

// checkDiskAliases rejects a name or alias used by two disks.
func checkDiskAliases(disks []Disk) error {
	owner := map[string]string{}
	for _, d := range disks {
		for _, n := range append([]string{d.Name}, d.Aliases...) {
			if o, ok := owner[n]; ok && o != d.Name {
				return errorf("device.json", "disks: name %q used by disks %q and %q", n, o, d.Name)
			}
			owner[n] = d.Name
		}
	}
	return nil
}

// parseVolumes reads a "storage"-style object: name → {persistence, disk}.
// An unknown persistence is a warning and means "boot", as upstream.
func (s *State) parseVolumes(key, path string, v rawjson.Value) ([]Volume, error) {
	if v.Kind != rawjson.Object {
		return nil, errorf(key, "%s: want an object, got %s", path, v.Kind)
	}
	var vols []Volume
	for _, m := range v.Members {
		p := path + "." + m.Key
		if err := CheckName(m.Key); err != nil {
			return nil, errorf(key, "%s: invalid volume name: %v", p, err)
		}
		if m.Value.Kind != rawjson.Object {
			return nil, errorf(key, "%s: want an object, got %s", p, m.Value.Kind)
		}
		f := newFields(key, p+".", m.Value)
		vol := Volume{Name: m.Key, Persistence: f.str("persistence"), Disk: f.str("disk")}
		if f.err != nil {
			return nil, f.err
		}
		switch vol.Persistence {
		case PersistPermanent, PersistRevision, PersistBoot:
		default:
			s.warnf("%s: %s.persistence: unknown %q, using %q", key, p, vol.Persistence, PersistBoot)
			vol.Persistence = PersistBoot
		}
		if vol.Disk != "" && !s.hasDisk(vol.Disk) {
			return nil, errorf(key, "%s.disk: unknown disk %q", p, vol.Disk)
		}
		vols = append(vols, vol)
	}
	return vols, nil
}

func (s *State) hasDisk(name string) bool {
	for _, d := range s.Device.Disks {
		if d.Name == name || contains(d.Aliases, name) {
			return true
		}
	}
	return false
}

// autoRecovery reads an auto_recovery object, or nil when absent.
func (f *fields) autoRecovery(name string) *AutoRecovery {
	v, ok := f.obj(name)
	if !ok {
		return nil
	}
	a := newFields(f.key, f.path+name+".", v)
	ar := &AutoRecovery{
		Policy:        a.oneOf("policy", "no", "always", "on-failure", "unless-stopped"),
		MaxRetries:    a.num("max_retries", 0),
		RetryDelay:    a.num("retry_delay", 0),
		BackoffFactor: a.float("backoff_factor", 1),
		ResetWindow:   a.num("reset_window", 0),
		StableTimeout: a.num("stable_timeout", 0),
		BackoffPolicy: a.str("backoff_policy"),
	}
	if ar.Policy == "" {
		ar.Policy = "no"
	}
	if ar.BackoffPolicy == "" {
		ar.BackoffPolicy = "reboot"
	}
	if ar.BackoffPolicy != "reboot" && ar.BackoffPolicy != "never" {
		if _, err := ParseDuration(ar.BackoffPolicy); err != nil {
			a.failf("backoff_policy", "invalid value %q, want reboot, never or a duration: %v", ar.BackoffPolicy, err)
		}
	}
	if a.err != nil && f.err == nil {
		f.err = a.err
	}
	return ar
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
