package image

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
)

// driverModule is the module of the drivers test's alias "net", in the
// board's real modules tree.
const driverModule = "kernel/drivers/net/dummy.ko"

// driversJSON is the drivers test's bsp/drivers.json: "net" loads dummy
// with numdummies from user-meta, "bad" and "opt" name modules the BSP
// does not have.
func driversJSON() map[string]any {
	return map[string]any{"all": map[string]any{
		"net": []string{"dummy numdummies=${user-meta:dummies}"},
		"bad": []string{"nosuchmod"},
		"opt": []string{"nosuchopt"},
	}}
}

// drvInit: the first thing the drv container does is look for the dummy
// module and count its interfaces (the container keeps the device's
// network namespace), then it tells mgmt it is up through mgmt's status
// volume.
const drvInit = `#!/bin/sh
trap 'exit 0' TERM INT
if [ -d /sys/module/dummy ]; then echo "drv: dummy loaded at start"; else echo "drv: dummy missing at start"; fi
echo "drv: dummies: $(ls /sys/class/net | grep -c '^dummy')"
touch /var/pvstatus/drv-ready
while :; do
	sleep 3600 &
	wait $!
done
`

// badInit is the init of the container whose required driver is missing:
// it must never run.
const badInit = "#!/bin/sh\necho 'bad: started'\nexit 0\n"

// driversOptions are the factory Options of the drivers test: the
// board's real modules trimmed to dummy, driversJSON, user-meta
// dummies=3 on the storage before the first boot; containers mgmt
// (drivers.manual "net"), which waits for drv, prints `pv-ctl drivers
// ls`, then installs and runs bad.tgz (InstallAtBoot), and drv (group
// app) with drivers.required "net" and drivers.optional "opt".
func driversOptions(t *testing.T) Options {
	t.Helper()
	o := qemuImageOptions(t)
	o.Append = scenarioAppend
	_, o.Device = HostNetwork(nil, DeviceJSON()) // no bridge module in this BSP
	o.Drivers = driversJSON()
	o.UserMeta = map[string]string{"dummies": "3"}
	mgmt := Containers()[1]
	require.Equal(t, "mgmt", mgmt.Name)
	mgmt.Run = map[string]any{"drivers": map[string]any{"manual": []string{"net"}, "optional": []string{}, "required": []string{}}}
	o.Containers = []Container{mgmt, {Name: "drv", Group: "app", Roles: []string{"nobody"}, Init: drvInit,
		Run: map[string]any{"restart_policy": "container",
			"drivers": map[string]any{"manual": []string{}, "optional": []string{"opt"}, "required": []string{"net"}}},
		Mounts: []string{"/volumes/mgmt/" + statusVolume + " var/pvstatus none bind,rw,create=dir 0 0"}}}
	WithPackageDisk(&o)
	InstallAtBoot("bad.tgz", "bad", true)(&o)
	o.container("mgmt").prependInit("while [ ! -e /var/pvstatus/drv-ready ]; do sleep 1; done\n" +
		"echo \"mgmt: drivers: $(/pantavisor/bin/pv-ctl drivers ls 2>&1 | tr '\\n' ' ')\"\n")

	b, err := boards.Load(boards.Dir(), "qemu-x86_64")
	require.NoError(t, err)
	found := false
	for _, k := range b.BSPModules {
		found = found || driverModule == k || strings.HasPrefix(driverModule, k+"/")
	}
	require.True(t, found, "the board's bsp_modules ship %s", driverModule)
	o.Board.BSPModules = []string{driverModule}
	o.ModulesDir, err = boards.ModulesRelease(qemu.KernelDir(b.Name))
	require.NoError(t, err)
	return o
}

// addBad adds the container "bad" (group app, restart_policy container,
// so the update applies without a reboot; no auto-recovery) whose
// required alias "bad" loads a module the BSP does not have.
func addBad(o *Options) {
	o.Containers = append(o.Containers, Container{Name: "bad", Group: "app", Roles: []string{"nobody"}, Init: badInit,
		Run: map[string]any{"restart_policy": "container", "auto_recovery": map[string]any{"policy": "no"},
			"drivers": map[string]any{"manual": []string{}, "optional": []string{}, "required": []string{"bad"}}}})
}

// TestQEMUDriversRequiredOptional: one QEMU run on the real kernel with
// bsp/drivers.json. Revision 0: drv's required alias "net" is loaded
// before drv starts (its init's first look finds /sys/module/dummy) with
// numdummies substituted from user-meta (3 dummy interfaces, the module's
// default is 1); its optional alias "opt", whose module does not exist,
// is only logged and drv runs; mgmt's `pv-ctl drivers ls` shows its
// manual alias "net" LOADED. Then mgmt installs an update (no reboot)
// adding "bad", whose required alias names a missing module: bad fails
// to start with the module named, never runs, the update fails (ERROR)
// and the device goes back to revision 0, which boots again with net
// loaded.
func TestQEMUDriversRequiredOptional(t *testing.T) {
	o := driversOptions(t)
	pkg := filepath.Join(t.TempDir(), "bad.tgz")
	require.NoError(t, BuildUpdatePackage(context.Background(), o, addBad, pkg))
	start := time.Now()
	s := bootScenario(t, o, map[string]string{"bad.tgz": pkg}, false)
	s.rev = "locals/bad"
	from := s.pos()
	s.seen(from, `drv: dummy loaded at start`, 240*time.Second, "the required alias is loaded before drv starts")
	s.seen(from, `drv: dummies: 3\b`, 30*time.Second, "numdummies comes from user-meta dummies=3")
	s.seen(from, `pantavisor: container drv: optional driver opt: module nosuchopt: module not found\r?\n`, 30*time.Second,
		"the missing optional module is logged")
	s.seen(from, q(`mgmt: drivers: [{"name":"net","type":"MANUAL","status":"LOADED"}]`), 60*time.Second,
		"GET /drivers shows mgmt's manual alias loaded")
	t.Logf("factory revision, drivers checked: %.1f s", time.Since(start).Seconds())
	s.expect(`revision 0 status READY`, 60*time.Second, "the factory revision is READY with drv running")

	s.seen(from, q(RunLine("bad"))+"0", 120*time.Second, "mgmt runs the update")
	s.expect(`container bad could not be started: required driver bad: module nosuchmod: module not found\r?\n`, 120*time.Second,
		"the missing required module fails bad's start, named")
	s.expect(statusRE(s.rev, "ERROR"), 120*time.Second, "the update fails: ERROR \"A container could not be started\"")
	after := s.pos()
	s.expect(`pv: booting revision 0\b`, 120*time.Second, "the device goes back to revision 0")
	s.seen(after, `drv: dummy loaded at start`, 240*time.Second, "revision 0 loads net again")
	s.expect(`revision 0 status READY`, 120*time.Second, "revision 0 is READY again")
	t.Logf("rolled back, revision 0 READY: %.1f s", time.Since(start).Seconds())
	assert.NotContains(t, s.vm.Console(), "bad: started", "a container whose required driver failed never runs")
	assert.NotContains(t, s.vm.Console(), "drv: dummy missing", "net is loaded before every start of drv")

	st := s.powerOff()
	assert.Equal(t, "0", st.checkConsistent(), "pv_rev is still 0")
	p := st.progress(s.rev)
	assert.Equal(t, "ERROR", p.Status, "the update's progress: %+v", p)
	assert.Contains(t, p.Logs, "required driver bad: module nosuchmod", "the progress says why")
}
