package state

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/rawjson"
)

func mustValue(t *testing.T, s string) rawjson.Value {
	t.Helper()
	v, err := rawjson.Parse([]byte(s))
	require.NoError(t, err, s)
	return v
}

const groupsJSON = `"device.json":{"groups":[{"name":"first","status_goal":"MOUNTED"},{"name":"last","restart_policy":"system","timeout":9}]}`

// TestParseErrors: each malformed state is refused with an Error naming
// the key, and the reason.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		key  string
		msg  string
	}{
		{"not json", `{"#spec":`, "state", "invalid JSON"},
		{"not an object", `[]`, "state", "want a JSON object, got array"},
		{"no spec", `{}`, "#spec", "missing"},
		{"spec not string", `{"#spec":1}`, "#spec", "want a string"},
		{"legacy spec", `{"#spec":"pantavisor-multi-platform@1"}`, "#spec", `unsupported spec "pantavisor-multi-platform@1"`},
		{"other spec", `{"#spec":"x@2"}`, "#spec", "unsupported spec"},
		{"duplicate key", string(st(`"a":"`+sha1+`"`, `"a":"`+sha2+`"`)), "a", "duplicate key"},
		{"absolute key", string(st(`"/etc/passwd":"` + sha1 + `"`)), "/etc/passwd", "absolute path"},
		{"dotdot key", string(st(`"a/../../x":"` + sha1 + `"`)), "a/../../x", "'..' in path"},
		{"nul key", string(st(`"a\u0000b":"` + sha1 + `"`)), "a\x00b", "NUL in path"},
		{"backslash key", string(st(`"a\\b":"` + sha1 + `"`)), `a\b`, "backslash"},
		{"bad sha", string(st(`"a/f":"1234"`)), "a/f", "want a 64-hex sha256"},
		{"number value", string(st(`"a/f":1`)), "a/f", "got number"},
		{"inline json non-json key", string(st(`"a/f":{}`)), "a/f", "only for keys ending in .json"},
		{"run.json not object", string(st(`"a/run.json":[]`)), "a/run.json", "want a JSON object"},
		{"unknown group", string(st(app("a", `"group":"nope"`))), "a/run.json", `group: unknown group "nope"`},
		{"bad goal", string(st(app("a", `"status_goal":"RUNNING"`))), "a/run.json", `status_goal: invalid value "RUNNING"`},
		{"bad policy", string(st(app("a", `"restart_policy":"always"`))), "a/run.json", `restart_policy: invalid value "always"`},
		{"bad runlevel", string(st(app("a", `"runlevel":"x"`))), "a/run.json", `runlevel: invalid value "x"`},
		{"goal wrong type", string(st(app("a", `"status_goal":1`))), "a/run.json", "status_goal: want a string, got number"},
		{"bad recovery policy", string(st(app("a", `"auto_recovery":{"policy":"sometimes"}`))), "a/run.json", "auto_recovery.policy: invalid value"},
		{"bad backoff", string(st(app("a", `"auto_recovery":{"backoff_policy":"soon"}`))), "a/run.json", "auto_recovery.backoff_policy"},
		{"bad retries", string(st(app("a", `"auto_recovery":{"max_retries":-1}`))), "a/run.json", "auto_recovery.max_retries: want a non-negative integer"},
		{"no name", string(st(`"a/run.json":{"type":"lxc"}`)), "a/run.json", "name: missing"},
		{"absolute name", string(st(`"a/run.json":{"name":"/a"}`)), "a/run.json", "invalid container name"},
		{"dotdot name", string(st(`"a/run.json":{"name":".."}`)), "a/run.json", "invalid container name"},
		{"slash name", string(st(`"a/run.json":{"name":"a/b"}`)), "a/run.json", "'/' in name"},
		{"duplicate name", string(st(app("a"), `"b/run.json":{"name":"a"}`)), "b/run.json", `duplicate container "a"`},
		{"config outside", string(st(`"a/run.json":{"name":"a","config":"../b/lxc.conf"}`)), "a/run.json", "config: \"../b/lxc.conf\" points outside the container"},
		{"config absolute", string(st(`"a/run.json":{"name":"a","config":"/etc/lxc.conf"}`)), "a/run.json", "points outside the container: absolute path"},
		{"config missing", string(st(`"a/run.json":{"name":"a","config":"lxc.container.conf"}`)), "a/run.json", "config: a/lxc.container.conf is not in the state"},
		{"root-volume outside", string(st(app("a", `"root-volume":"dm:../../x"`))), "a/run.json", "root-volume"},
		{"volume absolute", string(st(app("a", `"volumes":["/dev/sda"]`))), "a/run.json", "volumes[0]"},
		{"volumes not strings", string(st(app("a", `"volumes":[1]`))), "a/run.json", "volumes[0]: want a string"},
		{"bad storage name", string(st(app("a", `"storage":{"../x":{"persistence":"boot"}}`))), "a/run.json", "storage.../x: invalid volume name"},
		{"storage unknown disk", string(st(app("a", `"storage":{"v":{"disk":"nope"}}`))), "a/run.json", `storage.v.disk: unknown disk "nope"`},
		{"unknown role", string(st(app("a", `"roles":["root"]`))), "a/run.json", `unknown role "root"`},
		{"docker type", string(st(`"a/run.json":{"name":"a","type":"docker"}`)), "a/run.json", "unsupported container type"},
		{"bad dev-log", string(st(app("a", `"dev-log":"maybe"`))), "a/run.json", "dev-log: want true or false"},
		{"pool without name", string(st(app("a", `"network":{"mode":"pool"}`))), "a/run.json", "network.pool: missing"},
		{"bsp without boot", string(st(`"bsp/run.json":{"linux":"k"}`, `"bsp/k":"`+sha1+`"`)), "bsp/run.json", "want linux and initrd, or fit, or rpiab"},
		{"bsp asset missing", string(st(`"bsp/run.json":{"fit":"pantavisor.fit"}`)), "bsp/run.json", "fit: bsp/pantavisor.fit is not in the state"},
		{"bsp asset escapes", string(st(`"bsp/run.json":{"fit":"../x"}`)), "bsp/run.json", "fit: '..' in path"},
		{"group without name", string(st(`"device.json":{"groups":[{"status_goal":"READY"}]}`)), "device.json", "groups[0].name: missing"},
		{"group duplicate", string(st(`"device.json":{"groups":[{"name":"x"},{"name":"x"}]}`)), "device.json", `groups[1].name: duplicate group "x"`},
		{"group bad goal", string(st(`"device.json":{"groups":[{"name":"x","status_goal":"UP"}]}`)), "device.json", "groups[0].status_goal: invalid value"},
		{"groups not array", string(st(`"device.json":{"groups":{}}`)), "device.json", "groups: want an array"},
		{"legacy groups bad", string(st(`"groups.json":[{"name":"x","timeout":"10"}]`)), "groups.json", "[0].timeout: want a number"},
		{"strict disk type", string(st(`"device.json":{"groups":[{"name":"x"}],"disks":[{"name":"d","type":"floppy"}]}`)), "device.json", `disks[0].type: unknown disk type "floppy"`},
		{"disk alias clash", string(st(`"device.json":{"groups":[{"name":"x"}],"disks":[{"name":"d","type":"volume-disk"},{"name":"e","type":"volume-disk","aliases":["d"]}]}`)), "device.json", `name "d" used by disks`},
		{"empty groups", string(st(`"device.json":{"groups":[]}`, app("a"))), "a/run.json", "groups list is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), Options{})
			require.Error(t, err)
			var se *Error
			require.True(t, errors.As(err, &se), "error %v is a *state.Error", err)
			assert.Equal(t, tc.key, se.Key)
			assert.Contains(t, se.Reason, tc.msg)
		})
	}
}

func parseOK(t *testing.T, data []byte, opts Options) *State {
	t.Helper()
	s, err := Parse(data, opts)
	require.NoError(t, err, string(data))
	return s
}

func TestDefaultGroupAssignment(t *testing.T) {
	s := parseOK(t, st(app("a"), app("b"), app("c", `"group":"app"`)), Options{})
	assert.True(t, s.Device.DefaultGroups)
	assert.Equal(t, "root", s.Container("a").Group, "first unassigned goes to root")
	assert.Equal(t, "platform", s.Container("b").Group)
	c := s.Container("c")
	assert.Equal(t, "app", c.Group)
	assert.Equal(t, PolicyContainer, c.RestartPolicy)
	require.NotNil(t, c.AutoRecovery, "inherits the app group's auto_recovery")
	assert.Equal(t, "on-failure", c.AutoRecovery.Policy)
	assert.Equal(t, 5, c.AutoRecovery.MaxRetries)

	// Root already taken explicitly: unassigned ones go to platform.
	s = parseOK(t, st(app("a"), app("b", `"group":"root"`)), Options{})
	assert.Equal(t, "platform", s.Container("a").Group)
}

func TestExplicitGroups(t *testing.T) {
	s := parseOK(t, st(groupsJSON, app("a"), app("b", `"group":"first"`, `"status_goal":"READY"`)), Options{GoalsTimeout: 77})
	assert.False(t, s.Device.DefaultGroups)
	assert.Equal(t, "last", s.Container("a").Group, "unassigned goes to the last group")
	assert.Contains(t, s.Warnings[0], `no group, using the last group "last"`)
	assert.Equal(t, PolicySystem, s.Container("a").RestartPolicy)
	b := s.Container("b")
	assert.Equal(t, GoalReady, b.StatusGoal, "own goal wins over the group's")
	assert.Equal(t, PolicyContainer, b.RestartPolicy, "group default restart_policy is container")
	assert.Equal(t, 77, s.Group("first").Timeout, "timeout defaults to PV_UPDATER_GOALS_TIMEOUT")
	assert.Equal(t, 9, s.Group("last").Timeout)
	assert.Equal(t, GoalStarted, s.Group("last").StatusGoal)
}

func TestLegacyGroupsAndRunlevel(t *testing.T) {
	s := parseOK(t, st(`"groups.json":[{"name":"data"},{"name":"root"}]`, app("a", `"runlevel":"data"`)), Options{})
	assert.Equal(t, "data", s.Container("a").Group)
	assert.Contains(t, s.Warnings[0], "runlevel is deprecated")
	assert.Equal(t, 120, s.Group("data").Timeout)
}

func TestDeviceWithoutGroups(t *testing.T) {
	s := parseOK(t, st(`"device.json":{"volumes":{"x":{}}}`), Options{})
	assert.True(t, s.Device.DefaultGroups)
	assert.Empty(t, s.Device.Volumes, "the rest of device.json is skipped, as upstream")
	assert.Contains(t, s.Warnings[0], `no "groups"`)
}

func TestDisksV3IsLenient(t *testing.T) {
	s := parseOK(t, st(`"device.json":{"groups":[{"name":"x"}],"disks_v3":[{"name":"d","type":"floppy"},{"name":"e","type":"swap-disk","default":"yes","aliases":["ee"]}]}`), Options{})
	require.Len(t, s.Device.Disks, 1)
	assert.Equal(t, "e", s.Device.Disks[0].Name)
	assert.True(t, s.Device.Disks[0].Default)
}

func TestRoles(t *testing.T) {
	for extra, mgmt := range map[string]bool{"": true, `"roles":[]`: false, `"roles":["mgmt"]`: true,
		`"roles":["nobody"]`: false, `"roles":{}`: false} {
		var s *State
		if extra == "" {
			s = parseOK(t, st(app("a")), Options{})
		} else {
			s = parseOK(t, st(app("a", extra)), Options{})
		}
		assert.Equal(t, mgmt, s.Container("a").Mgmt, extra)
	}
}

func TestContainerFields(t *testing.T) {
	s := parseOK(t, st(app("a", `"root-volume":"root.squashfs"`, `"volumes":["extra.squashfs"]`,
		`"storage":{"v1":{"persistence":"revision"},"v2":{"persistence":"forever"}}`,
		`"logs":[{"file":"/var/log/x","lxc":"enable","maxsize":"1024"}]`,
		`"network":{"mode":"pool","pool":"internal","hostname":"h"}`,
		`"automodfw":"no"`, `"dev-log":false`, `"exports":["/x"]`, `"share":"NETWORK"`,
		`"drivers":{"required":["wifi"]}`)), Options{})
	c := s.Container("a")
	assert.Equal(t, "", c.RootHandler)
	assert.Equal(t, []string{"extra.squashfs"}, c.Volumes)
	assert.Equal(t, []Volume{{Name: "v1", Persistence: PersistRevision}, {Name: "v2", Persistence: PersistBoot}}, c.Storage)
	assert.Contains(t, s.Warnings[0], `storage.v2.persistence: unknown "forever"`)
	assert.Equal(t, []Log{{File: "/var/log/x", LXC: "enable", MaxSize: "1024"}}, c.Logs)
	assert.Equal(t, &Network{Mode: "pool", Pool: "internal", Hostname: "h"}, c.Network)
	assert.False(t, c.AutoModFW)
	require.NotNil(t, c.DevLog)
	assert.False(t, *c.DevLog)
	assert.True(t, c.Exports)
	assert.Equal(t, "NETWORK", c.Share)
	assert.Equal(t, []string{"wifi"}, c.Drivers.Required)
}

func TestBSPVariants(t *testing.T) {
	obj := func(n string) string { return `"bsp/` + n + `":"` + sha1 + `"` }
	s := parseOK(t, st(`"bsp/run.json":{"fit":"pv.fit","linux":"k","initrd":"i"}`, obj("pv.fit")), Options{})
	assert.Equal(t, "fit", s.BSP.Boot(), "fit wins over linux+initrd")
	s = parseOK(t, st(`"bsp/run.json":{"rpiab":"boot.img.gz"}`, obj("boot.img.gz")), Options{})
	assert.Equal(t, "rpiab", s.BSP.Boot())
	in := st(`"bsp/run.json":{"linux":"k","initrd":"i","modules":"m","modules_6.1.0":"m6","addons":["a.cpio.xz4"]}`,
		obj("k"), obj("i"), obj("m"), obj("m6"), obj("a.cpio.xz4"))
	assert.Equal(t, "m", parseOK(t, in, Options{}).BSP.Modules)
	assert.Equal(t, "m6", parseOK(t, in, Options{KernelRelease: "6.1.0"}).BSP.Modules, "modules_<uname -r> preferred")
	_, err := Parse(st(`"bsp/run.json":{"linux":"k","initrd":"i","addons":["x"]}`, obj("k"), obj("i")), Options{})
	assert.ErrorContains(t, err, "addons[0]: bsp/x is not in the state")
}

func TestDriversSections(t *testing.T) {
	in := st(`"bsp/drivers.json":{"#spec":"driver-aliases@1","all":{"wifi":["brcmfmac"]},"fitconfig:board-a":{"can":["mcp251x ${user-meta:can.speed}"]},"dtb:all":{"x":["y"]}}`)
	s := parseOK(t, in, Options{})
	require.Len(t, s.Drivers, 1, "only 'all' without a fit config")
	_, ok := s.Alias("x")
	assert.False(t, ok, "dtb: sections are not honoured (upstream code)")
	s = parseOK(t, in, Options{FitConfig: "board-a"})
	require.Len(t, s.Drivers, 2)
	m, ok := s.Alias("can")
	require.True(t, ok)
	assert.Equal(t, []string{"mcp251x ${user-meta:can.speed}"}, m)
}

func TestObjectsAndJSONs(t *testing.T) {
	s := parseOK(t, st(app("a", `"root-volume":"root.squashfs"`), `"a/root.squashfs":"`+sha2+`"`,
		`"a/src.json":{"args":{}}`, `"_config/a/etc/x":"`+sha1+`"`, `"other/f":"`+sha2+`"`), Options{})
	assert.Equal(t, []Object{{"a/lxc.container.conf", sha1, "a"}, {"a/root.squashfs", sha2, "a"},
		{"_config/a/etc/x", sha1, "a"}, {"other/f", sha2, ""}}, s.Objects)
	assert.Equal(t, []string{sha1, sha2}, s.UniqueObjects())
	require.Len(t, s.JSONs, 1, "src.json is ignored, run.json installed")
	assert.Equal(t, "a/run.json", s.JSONs[0].Name)
}

func TestReadLimit(t *testing.T) {
	_, err := Read(&zeroReader{n: MaxSize + 10}, Options{})
	assert.ErrorContains(t, err, "larger than")
}

type zeroReader struct{ n int }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, errors.New("EOF")
	}
	n := min(len(p), z.n)
	for i := range p[:n] {
		p[i] = ' '
	}
	z.n -= n
	return n, nil
}

// FuzzParse: any input either parses into a consistent model or gives an
// *Error; never a panic.
func FuzzParse(f *testing.F) {
	f.Add(st(app("a", `"group":"app"`)))
	f.Add(st(groupsJSON, app("b")))
	f.Add(st(`"bsp/run.json":{"linux":"k","initrd":"i"}`, `"bsp/k":"`+sha1+`"`, `"bsp/i":"`+sha2+`"`))
	f.Add([]byte(`{"#spec":"pantavisor-multi-platform@1"}`))
	f.Add(st(app("n", `"network":{"pool":"p","interfaces":[{"ipv4_address":"10.0.5.2/24"},{"name":"lan","pool":"q","mac_address":"02:00:00:00:00:01"}]}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, Options{})
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error is not a *state.Error: %v", err)
			}
			return
		}
		for _, c := range s.Containers {
			if s.Group(c.Group) == nil || c.StatusGoal == "" {
				t.Fatalf("container %q without group or goal", c.Name)
			}
		}
		for _, c := range s.Containers {
			checkIfaces(t, c.Network.Ifaces())
		}
		for _, o := range s.Objects {
			if CheckPath(o.Name) != nil || !IsSHA256(o.SHA) {
				t.Fatalf("bad object %q", o.Name)
			}
		}
	})
}

// checkIfaces fails unless every interface has a pool and a unique valid
// name, and its static address and MAC parse.
func checkIfaces(t *testing.T, ifaces []Interface) {
	t.Helper()
	seen := map[string]bool{}
	for _, it := range ifaces {
		if it.Pool == "" || CheckIfName(it.Name) != nil || seen[it.Name] {
			t.Fatalf("bad interface %+v", it)
		}
		seen[it.Name] = true
		if _, _, err := ParseIPv4(it.IPv4Address); it.IPv4Address != "" && err != nil {
			t.Fatalf("bad address %+v", it)
		}
		if _, err := ParseMAC(it.MACAddress); it.MACAddress != "" && err != nil {
			t.Fatalf("bad MAC %+v", it)
		}
	}
}
