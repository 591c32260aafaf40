package image

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"pantavisor/boards"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/lxcconf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/testenv"
)

// scanTgz reads a package tarball with the device's reader: its state
// keys and values, and its object shas.
func scanTgz(t *testing.T, path string) (map[string]json.RawMessage, map[string]int64) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	c, err := pvrpkg.Scan(f)
	require.NoError(t, err)
	var st map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(c.State, &st))
	for k, v := range st {
		var b bytes.Buffer
		require.NoError(t, json.Compact(&b, v))
		st[k] = b.Bytes()
	}
	return st, c.Objects
}

// changedKeys lists the keys of b that differ from a or are new, and the
// keys of a that b dropped, sorted.
func changedKeys(a, b map[string]json.RawMessage) []string {
	var out []string
	for k, v := range b {
		var x, y any
		json.Unmarshal(v, &y)
		json.Unmarshal(a[k], &x)
		xb, _ := json.Marshal(x)
		yb, _ := json.Marshal(y)
		if _, ok := a[k]; !ok || !bytes.Equal(xb, yb) {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestBuildUpdatePackage: each scenario's package is a full state derived
// from revision 0 that differs only where the scenario says (same BSP
// objects otherwise), passes `pantavisor validate`, and installs with
// `pantavisor install` as revision 1 next to revision 0; building it
// leaves revision 0's objects intact.
func TestBuildUpdatePackage(t *testing.T) {
	requireImageTools(t)
	ctx := context.Background()
	o := testOptions(t, fakeFile(t, "vmlinuz", 64<<10), fakeFile(t, "initrd.img", 32<<10))
	storage := filepath.Join(t.TempDir(), "storage")
	_, err := BuildStorage(ctx, o, storage)
	require.NoError(t, err)
	base := filepath.Join(t.TempDir(), "base.tgz")
	require.NoError(t, WritePackageTgz(filepath.Join(o.Work, "pkg"), base))
	rev0, _ := scanTgz(t, base)
	otherInitrd := fakeFile(t, "initrd2.img", 33<<10)
	const sig = "_sigs/pvgo-dev.json" // signed again whenever the state changes

	for i, tc := range []struct {
		name    string
		change  Change
		changed []string
		check   func(t *testing.T, st map[string]json.RawMessage)
	}{
		{"app only", AppOnlyChange("2"), []string{sig, "web/root.squashfs", "web/run.json"}, func(t *testing.T, st map[string]json.RawMessage) {
			assert.Contains(t, string(st["web/run.json"]), `"restart_policy":"container"`)
		}},
		{"system", SystemChange("2"), []string{sig, "os/root.squashfs"}, nil},
		{"bsp", BSPChange(otherInitrd), []string{sig, "bsp/pantavisor"}, nil},
		{"exiting app", ExitingApp(), []string{sig, "web/root.squashfs", "web/run.json"}, func(t *testing.T, st map[string]json.RawMessage) {
			assert.Contains(t, string(st["web/run.json"]), `"auto_recovery":{"policy":"no"}`)
		}},
		{"never ready", NeverReady(10), []string{sig, "device.json", "waiter/lxc.container.conf", "waiter/root.squashfs", "waiter/run.json"},
			func(t *testing.T, st map[string]json.RawMessage) {
				assert.Contains(t, string(st["waiter/run.json"]), `"status_goal":"READY"`)
				assert.Regexp(t, `"name":"app","restart_policy":"container","status_goal":"STARTED","timeout":10\}`, string(st["device.json"]))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "update.tgz")
			require.NoError(t, BuildUpdatePackage(ctx, o, tc.change, out))
			st, objs := scanTgz(t, out)
			assert.Equal(t, tc.changed, changedKeys(rev0, st))
			assert.NotEmpty(t, objs)
			if tc.check != nil {
				tc.check(t, st)
			}
			val, err := exec.Command(o.Pantavisor, "validate", "--secureboot", "strict", "--trust", o.Board.TrustDir(boards.Dir()),
				out).CombinedOutput()
			require.NoError(t, err, "pantavisor validate: %s", val)
			assert.Contains(t, string(val), "signature "+sig+": ok ES256 ")
			pantavisorInstall(t, o.Pantavisor, storage, []string{"1", "2", "3", "4", "5"}[i], out)
		})
	}
	for _, rev := range []string{"0", "1", "2", "3", "4", "5"} {
		_, err := os.Stat(filepath.Join(storage, "trails", rev, ".pvr", "json"))
		assert.NoError(t, err, "revision %s installed", rev)
	}
	checkObjects(t, filepath.Join(o.Work, "pkg", "objects"))
	left, err := filepath.Glob(filepath.Join(o.Work, "update-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "the update work directories are removed")
	wantCs, wantDev := HostNetwork(Containers(), DeviceJSON()) // what testOptions set
	assert.Equal(t, wantCs, o.Containers, "the base options are not changed")
	assert.Equal(t, wantDev, o.Device, "the base options are not changed")
}

// checkObjects: every objects/<sha> file in dir still hashes to its name.
func checkObjects(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, es)
	for _, e := range es {
		sum, err := hashFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.Equal(t, e.Name(), sum, "object intact")
	}
}

// TestUpdatePackageReproducible: the same change twice gives the same
// bytes, and a nil change gives revision 0's state.
func TestUpdatePackageReproducible(t *testing.T) {
	requireImageTools(t)
	ctx := context.Background()
	o := testOptions(t, fakeFile(t, "vmlinuz", 64<<10), fakeFile(t, "initrd.img", 32<<10))
	dir := t.TempDir()
	a, b, same := filepath.Join(dir, "a.tgz"), filepath.Join(dir, "b.tgz"), filepath.Join(dir, "same.tgz")
	require.NoError(t, BuildUpdatePackage(ctx, o, AppOnlyChange("3"), a))
	require.NoError(t, BuildUpdatePackage(ctx, o, AppOnlyChange("3"), b))
	da, err := os.ReadFile(a)
	require.NoError(t, err)
	db, err := os.ReadFile(b)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(da, db), "byte-identical packages")

	require.NoError(t, BuildPackage(ctx, o, filepath.Join(dir, "pkg0")))
	require.NoError(t, BuildUpdatePackage(ctx, o, nil, same))
	st0, err := os.ReadFile(filepath.Join(dir, "pkg0", "json"))
	require.NoError(t, err)
	f, err := os.Open(same)
	require.NoError(t, err)
	defer f.Close()
	c, err := pvrpkg.Scan(f)
	require.NoError(t, err)
	assert.Equal(t, string(st0), string(c.State), "no change: revision 0's state")
}

// TestDeriveCopies: a Change works on copies; the base's containers and
// device.json are never touched.
func TestDeriveCopies(t *testing.T) {
	base := Options{Containers: Containers(), Device: DeviceJSON()}
	o, err := derive(base)
	require.NoError(t, err)
	NeverReady(5)(&o)
	AppOnlyChange("x")(&o)
	WithPackageDisk(&o)
	assert.Equal(t, Containers(), base.Containers)
	assert.Equal(t, DeviceJSON(), base.Device)
	assert.Len(t, o.Containers, 4)
	assert.Equal(t, 5, o.group("app")["timeout"])
	assert.Nil(t, o.group("nope"))
	assert.True(t, strings.HasPrefix(o.container("web").Init, "#!/bin/sh\necho 'web: version x'\n"))
	VersionChange("nope", "1")(&o) // no such container: no-op
	ExitingApp()(&Options{})       // idem
}

// TestWithPackageDisk: mgmt's LXC config mounts the package disk
// read-only and optional at PackageDir, as the launcher reads it.
func TestWithPackageDisk(t *testing.T) {
	var o Options
	WithPackageDisk(&o)
	mgmt := o.container("mgmt")
	require.NotNil(t, mgmt)
	cfg, _, err := lxcconf.Parse(strings.NewReader(mgmt.LXCConfig()), "mgmt")
	require.NoError(t, err)
	var found bool
	for _, e := range cfg.Mounts {
		if e.Source != PackageDiskDevice {
			continue
		}
		found = true
		assert.Equal(t, "updates", e.Target)
		assert.Equal(t, "ext4", e.FSType)
		opts := e.Opts()
		assert.True(t, opts.Optional, "a boot without the disk still starts mgmt")
		assert.Equal(t, "dir", opts.Create)
		assert.NotZero(t, opts.Flags&unix.MS_RDONLY)
	}
	assert.True(t, found, "mgmt mounts %s", PackageDiskDevice)
	assert.Contains(t, mgmt.Init, PackagesLine)
	assert.NotContains(t, o.container("web").LXCConfig(), PackageDiskDevice, "only mgmt")
}

// TestBuildPackageDisk: the disk is an ext4 filesystem (no partition
// table) holding each package at its root with the same bytes.
func TestBuildPackageDisk(t *testing.T) {
	requireImageTools(t)
	ctx := context.Background()
	a, b := fakeFile(t, "a", 3<<20), fakeFile(t, "b", 1000)
	disk := filepath.Join(t.TempDir(), "pkgs.img")
	require.NoError(t, BuildPackageDisk(ctx, map[string]string{"app.tgz": a, "sys.tgz": b}, disk))
	fi, err := os.Stat(disk)
	require.NoError(t, err)
	assert.Zero(t, fi.Size()%(1<<20))
	whole := Partition{}
	assert.Contains(t, debugfs(t, disk, whole, "stats"), "Filesystem volume name:   "+PackageDiskLabel)
	ls := debugfs(t, disk, whole, "ls -p /")
	assert.Contains(t, ls, "/app.tgz/")
	assert.Contains(t, ls, "/sys.tgz/")
	want, err := os.ReadFile(a)
	require.NoError(t, err)
	assert.True(t, debugfs(t, disk, whole, "cat /app.tgz") == string(want), "same bytes")

	for _, bad := range []string{"../x", "d/x", "/abs"} {
		err := BuildPackageDisk(ctx, map[string]string{bad: a}, filepath.Join(t.TempDir(), "bad.img"))
		assert.ErrorContains(t, err, "plain file name", bad)
	}
}

// TestScenarioInits: every init script a scenario writes is valid sh
// (sh -n), and InstallAtBoot's names the step and the package.
func TestScenarioInits(t *testing.T) {
	testenv.RequireCommand(t, "sh", "a POSIX shell")
	o, err := derive(Options{})
	require.NoError(t, err)
	WithPackageDisk(&o)
	InstallAtBoot("app.tgz", "app", true)(&o)
	NeverReady(5)(&o)
	SystemChange("2")(&o)
	AppOnlyChange("2")(&o)
	e, err := derive(Options{})
	require.NoError(t, err)
	ExitingApp()(&e)
	for _, c := range append(o.Containers, *e.container("web")) {
		out, err := exec.Command("sh", "-n", "-c", c.Init).CombinedOutput()
		assert.NoError(t, err, "%s: %s", c.Name, out)
	}
	mgmt := o.container("mgmt").Init
	assert.Contains(t, mgmt, "pv-ctl steps install /updates/app.tgz locals/app")
	assert.Contains(t, mgmt, "pv-ctl cmd run locals/app")
}
