package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sha1 = "1111111111111111111111111111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222222222222222222222222222"
)

// st builds a state JSON from members written as `"key": value` fragments.
func st(members ...string) []byte {
	return []byte(`{"#spec":"pantavisor-service-system@1"` + prefixComma(members) + `}`)
}

func prefixComma(ms []string) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(",")
		b.WriteString(m)
	}
	return b.String()
}

// app is a minimal valid container "a" with extra run.json members.
func app(name string, extra ...string) string {
	return `"` + name + `/lxc.container.conf":"` + sha1 + `","` + name + `/run.json":{"name":"` + name +
		`","type":"lxc","config":"lxc.container.conf"` + prefixComma(extra) + `}`
}

func conformance(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/conformance/pvtx/*/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return append(files, "../../testdata/conformance/state.rev0.json")
}

func TestConformanceStatesParse(t *testing.T) {
	for _, f := range conformance(t) {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		s, err := Parse(data, Options{})
		require.NoError(t, err, f)
		assert.Equal(t, SpecSystem1, s.Spec, f)
		assert.Empty(t, s.Warnings, f)
		for _, c := range s.Containers {
			assert.NotEmpty(t, c.Group, "%s: %s", f, c.Name)
			assert.NotEmpty(t, c.StatusGoal, "%s: %s", f, c.Name)
		}
	}
}

func TestInitialStateModel(t *testing.T) {
	data, err := os.ReadFile("../../testdata/conformance/pvtx/resources/initial_state.json")
	require.NoError(t, err)
	s, err := Parse(data, Options{})
	require.NoError(t, err)

	require.NotNil(t, s.BSP)
	assert.Equal(t, "linux", s.BSP.Boot())
	assert.Equal(t, "kernel.img", s.BSP.Linux)
	assert.Equal(t, "pantavisor", s.BSP.Initrd)
	assert.Equal(t, "modules.squashfs", s.BSP.Modules)
	assert.Equal(t, "firmware.squashfs", s.BSP.Firmware)

	assert.False(t, s.Device.DefaultGroups)
	var names []string
	for _, g := range s.Device.Groups {
		names = append(names, g.Name)
	}
	assert.Equal(t, []string{"data", "root", "platform", "app"}, names)
	require.Len(t, s.Device.Disks, 1)
	assert.Equal(t, "dm-crypt-versatile", s.Device.Disks[0].Type)
	require.Len(t, s.Device.Volumes, 2)
	assert.Equal(t, Volume{Name: "pv--devmeta", Persistence: PersistPermanent, Disk: "dm-internal-secrets"}, s.Device.Volumes[0])

	aw := s.Container("awconnect")
	require.NotNil(t, aw)
	assert.Equal(t, "root", aw.Group)
	assert.Equal(t, GoalStarted, aw.StatusGoal, "inherited from group root")
	assert.Equal(t, PolicySystem, aw.RestartPolicy, "inherited from group root")
	assert.True(t, aw.Mgmt, "roles absent means mgmt, as upstream code")
	assert.Equal(t, []string{"wifi", "usbnet", "bluetooth"}, aw.Drivers.Optional)
	assert.Equal(t, []Volume{{Name: "docker--etc-NetworkManager-system-connections", Persistence: PersistPermanent},
		{Name: "lxc-overlay", Persistence: PersistBoot}}, aw.Storage)

	sdk := s.Container("pvr-sdk")
	require.NotNil(t, sdk)
	assert.Equal(t, "dm", sdk.RootHandler)
	assert.Equal(t, "root.squashfs", sdk.RootVolume)

	classes := map[string]Class{}
	owners := map[string]string{}
	for _, k := range s.Keys {
		classes[k.Name], owners[k.Name] = k.Class, k.Owner
	}
	assert.Equal(t, ClassSpec, classes["#spec"])
	assert.Equal(t, ClassBSPRun, classes["bsp/run.json"])
	assert.Equal(t, ClassBSPDrivers, classes["bsp/drivers.json"])
	assert.Equal(t, ClassDevice, classes["device.json"])
	assert.Equal(t, ClassRun, classes["awconnect/run.json"])
	assert.Equal(t, ClassIgnored, classes["_sigs/bsp.json"])
	assert.Equal(t, ClassJSON, classes["pvr-sdk/_dm/root.squashfs.json"])
	assert.Equal(t, ClassObject, classes["bsp/kernel.img"])
	assert.Equal(t, "awconnect", owners["_config/awconnect/etc/iptables/rules.v4"], "second component under _config")
	assert.Equal(t, "awconnect", owners["awconnect/root.squashfs"])
	assert.Equal(t, "", owners["bsp/kernel.img"], "BSP keys belong to no container")

	// Raw bytes are the exact input bytes, never re-serialised.
	for _, j := range s.JSONs {
		assert.Contains(t, string(data), string(j.Raw), j.Name)
	}
	drv, ok := s.Alias("wifi")
	require.True(t, ok)
	assert.Equal(t, []string{"brcmutil", "brcmfmac"}, drv)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		want       Class
		err        string
	}{
		{"#spec", `"x"`, ClassSpec, ""},
		{"bsp/run.json", `{}`, ClassBSPRun, ""},
		{"bsp/run.json", `[]`, ClassBSPRun, "want a JSON object, got array"},
		{"bsp/drivers.json", `{}`, ClassBSPDrivers, ""},
		{"device.json", `{}`, ClassDevice, ""},
		{"groups.json", `[]`, ClassGroups, ""},
		{"groups.json", `{}`, ClassGroups, "want a JSON array"},
		{"disks.json", `[]`, ClassDisks, ""},
		{"disks_v3.json", `[]`, ClassDisks, ""},
		{"c/run.json", `{}`, ClassRun, ""},
		{"c/run.json", `"` + sha1 + `"`, ClassRun, "want a JSON object, got string"},
		{"c/services.json", `[]`, ClassServices, ""},
		{"c/services.json", `1`, ClassServices, "want an object or array"},
		{"c/src.json", `{}`, ClassIgnored, ""},
		{"bsp/build.json", `{}`, ClassIgnored, ""},
		{"_sigs/c.json", `{}`, ClassIgnored, ""},
		{"c/mdev.json", `["x"]`, ClassJSON, ""},
		{"c/_dm/root.squashfs.json", `{}`, ClassJSON, ""},
		{"c/x.json", `"` + sha1 + `"`, ClassObject, ""},
		{"c/root.squashfs", `"` + sha1 + `"`, ClassObject, ""},
		{"c/root.squashfs", `"` + strings.Repeat("AB", 32) + `"`, ClassObject, "want a 64-hex sha256"},
		{"c/root.squashfs", `"abc"`, ClassObject, "want a 64-hex sha256"},
		{"c/root.squashfs", `{}`, ClassJSON, "only for keys ending in .json"},
		{"c/root.squashfs", `12`, ClassObject, "want a sha256 string or inline JSON, got number"},
	} {
		v := mustValue(t, tc.value)
		c, err := Classify(tc.key, v)
		assert.Equal(t, tc.want, c, "%s=%s", tc.key, tc.value)
		if tc.err == "" {
			assert.NoError(t, err, "%s=%s", tc.key, tc.value)
		} else {
			assert.ErrorContains(t, err, tc.err, "%s=%s", tc.key, tc.value)
		}
	}
	assert.Equal(t, "bsp-run", ClassBSPRun.String())
	assert.Equal(t, "class(99)", Class(99).String())
}

func TestCheckPath(t *testing.T) {
	for p, want := range map[string]string{
		"a":                "",
		"a/b c/d.txt":      "",
		"":                 "empty path",
		"/etc/passwd":      "absolute path",
		"a/../../etc":      "'..' in path",
		"..":               "'..' in path",
		"a\x00b":           "NUL in path",
		`a\b`:              "backslash in path",
		"a//b":             "not clean",
		"a/./b":            "not clean",
		"a/":               "not clean",
		"_config/c/x y.ok": "",
	} {
		err := CheckPath(p)
		if want == "" {
			assert.NoError(t, err, p)
		} else {
			assert.ErrorContains(t, err, want, p)
		}
	}
	assert.ErrorContains(t, CheckName("a/b"), "'/' in name")
	assert.NoError(t, CheckName("pvr-sdk"))
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]int{"30s": 30, "10min": 600, "2h": 7200, "45": 45, "0s": 0} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "s", "min", "-5s", "+5s", "5m", "1d", "x"} {
		_, err := ParseDuration(in)
		assert.Error(t, err, in)
	}
}
