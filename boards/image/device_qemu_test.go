package image

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
)

// TestDeviceRunsRevision boots the disk through GRUB into our PID 1,
// which mounts LABEL=pvstorage, mounts the BSP volumes and runs revision
// 0: os (root), mgmt (platform) and web (app) start in group order, the
// revision becomes READY, and pv_test=ready-poweroff stops everything and
// powers off cleanly. The storage disk read afterwards holds the logs and
// the persisted device-meta. The containers run on an initramfs root, so
// this is where pivot_root's EINVAL fallback (MS_MOVE + chroot) is proven.
// bootImage builds the disk image with cmdline appended and boots it;
// the VM is killed (its console logged on failure) when the test ends.
func bootImage(t *testing.T, cmdline string) (*qemu.VM, string, *Result) {
	t.Helper()
	o := qemuImageOptions(t)
	o.Append = cmdline
	return boot(t, o)
}

// bootOptions builds and boots the image of o.
func bootOptions(t *testing.T, o Options) *qemu.VM {
	t.Helper()
	vm, _, _ := boot(t, o)
	return vm
}

func boot(t *testing.T, o Options) (*qemu.VM, string, *Result) {
	t.Helper()
	disk := filepath.Join(t.TempDir(), "disk.img")
	res, err := Build(context.Background(), o, disk)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	vm, err := qemu.Start(ctx, qemu.Options{Board: o.Board, Disks: []string{disk}}, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		vm.Kill()
		cancel()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	})
	return vm, disk, res
}

func TestDeviceRunsRevision(t *testing.T) {
	start := time.Now()
	vm, disk, res := bootImage(t, "pv_test=ready-poweroff")
	expect := func(re string, timeout time.Duration, why string) float64 {
		t.Helper()
		_, err := vm.Expect(regexp.MustCompile(re), timeout)
		require.NoError(t, err, why)
		return time.Since(start).Seconds()
	}
	kernel := expect(`Command line: `, 120*time.Second, "GRUB starts the kernel")
	expect(`storage LABEL=pvstorage mounted from /dev/vda1`, 120*time.Second, "the main loop mounts the storage")
	started := expect(`container web started \(group app\)`, 120*time.Second, "the last group starts")
	ready := expect(`revision 0 status READY`, 120*time.Second, "every goal is reached")
	expect(`storage unmounted`, 120*time.Second, "the storage is unmounted cleanly before the power-off")
	expect(`reboot: Power down`, 120*time.Second, "pv_test=ready-poweroff stops the containers and powers off")
	require.NoError(t, vm.Wait(30*time.Second), "qemu exits 0 on power-off")

	console := vm.Console()
	pvlog := debugfs(t, disk, res.Partition, "cat /logs/0/pantavisor/pantavisor.log")
	iOS := strings.Index(pvlog, "container os started (group root)")
	iMgmt := strings.Index(pvlog, "container mgmt started (group platform)")
	iWeb := strings.Index(pvlog, "container web started (group app)")
	require.True(t, iOS >= 0 && iMgmt >= 0 && iWeb >= 0, "all three containers started")
	assert.True(t, iOS < iMgmt && iMgmt < iWeb, "groups start in order: root, platform, app")
	assert.NotContains(t, console, "could not be started")
	assert.NotContains(t, console, "Kernel panic")
	t.Logf("BOOT (TCG, wall clock from QEMU start): kernel %.2fs, all containers started %.2fs, READY %.2fs", kernel, started, ready)
	mem := regexp.MustCompile(`memory: PID 1 VmRSS \d+ kB Pss (\d+) kB [^\r\n]*main loop VmRSS \d+ kB Pss (\d+) kB[^\r\n]*`).FindStringSubmatch(console)
	require.NotNil(t, mem, "the memory line at READY")
	pss := atoi(t, mem[1]) + atoi(t, mem[2])
	t.Logf("RSS at READY with three containers: %s; Pss summed %d kB (issue 14's goal: <= 6144 kB)", mem[0], pss)

	assert.Contains(t, pvlog, "container web started (group app)", "the log server wrote pantavisor's log to the storage")
	assert.Regexp(t, `\[dmesg\]: \[ *[0-9.]+\] Linux version`, pvlog, "the kernel log is captured as pantavisor/dmesg")
	mgmt := debugfs(t, disk, res.Partition, "cat /logs/0/mgmt/lxc/console.log")
	assert.NotEmpty(t, strings.TrimSpace(mgmt), "each container's console is logged")
	assert.Equal(t, "STOPPED", debugfs(t, disk, res.Partition, "cat /cache/devmeta/pantavisor.status"),
		"device-meta pantavisor.status persisted: READY, then STOPPED by the power-off")
	assert.Equal(t, "0", debugfs(t, disk, res.Partition, "cat /cache/devmeta/pantavisor.revision"))
}

// TestWatchdogResetsHungMainLoop: with PV_WDT_MODE=always the main loop
// arms the i6300esb watchdog and kicks it every tick; pv_test=wdt-hang
// makes the loop hang once the revision runs, and the watchdog must reset
// the VM (QEMU runs with -no-reboot, so a reset ends it) without any
// clean power-off.
func TestWatchdogResetsHungMainLoop(t *testing.T) {
	vm, _, _ := bootImage(t, "pv_test=wdt-hang pv_wdt_mode=always pv_wdt_timeout=5")
	_, err := vm.Expect(regexp.MustCompile(`watchdog armed \(5s, mode always\)`), 180*time.Second)
	require.NoError(t, err, "PV_WDT_MODE/PV_WDT_TIMEOUT from the kernel cmdline arm the watchdog")
	_, err = vm.Expect(regexp.MustCompile(`pv_test=wdt-hang: main loop hangs`), 120*time.Second)
	require.NoError(t, err)
	hung := time.Now()
	require.NoError(t, vm.Wait(60*time.Second), "the watchdog resets the VM: QEMU (-no-reboot) exits")
	t.Logf("watchdog reset %.1fs after the main loop hung (timeout 5 s)", time.Since(hung).Seconds())
	assert.NotContains(t, vm.Console(), "reboot: Power down", "no clean shutdown: the hardware did it")
	assert.NotContains(t, vm.Console(), "reboot: Restarting system", "not a software reboot either")
}

// crasher is a container whose init exits after a second, in group.
func crasher(group string) Container {
	return Container{Name: "crasher", Group: group, Roles: []string{"nobody"},
		Init: "#!/bin/sh\necho crasher up\nsleep 1\nexit 1\n"}
}

// TestRecoveryInQEMU: a container of the app group that keeps exiting is
// restarted per the group's auto_recovery (on-failure, 5 s × 2^(n-1));
// the delays are read from the engine's log on the console.
func TestRecoveryInQEMU(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = ""
	o.Containers = append(Containers(), crasher("app"))
	vm := bootOptions(t, o)
	for _, re := range []string{
		`container crasher exited with code 1`,
		`container crasher exited: restart 1 in 5\.0s \(policy on-failure\)`,
		`container crasher exited: restart 2 in 10\.0s \(policy on-failure\)`,
		`container crasher exited: restart 3 in 20\.0s \(policy on-failure\)`,
	} {
		_, err := vm.Expect(regexp.MustCompile(re), 180*time.Second)
		require.NoError(t, err, re)
	}
	assert.Equal(t, 3, strings.Count(vm.Console(), "container crasher started (group app)"), "started, then restarted twice, before the third exit")
	assert.NotContains(t, vm.Console(), "reboot: Restarting system", "recovering containers do not reboot the device")
}

// TestSystemContainerFailureReboots: a container of the platform group
// (restart_policy system, no auto_recovery) that exits makes the engine
// ask for a reboot, which PID 1 carries out.
func TestSystemContainerFailureReboots(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = ""
	o.Containers = append(Containers(), crasher("platform"))
	vm := bootOptions(t, o)
	_, err := vm.Expect(regexp.MustCompile(`reboot: container crasher exited and has no auto_recovery policy`), 180*time.Second)
	require.NoError(t, err)
	_, err = vm.Expect(regexp.MustCompile(`reboot: Restarting system`), 60*time.Second)
	require.NoError(t, err, "PID 1 reboots the device")
	require.NoError(t, vm.Wait(30*time.Second), "QEMU (-no-reboot) exits on the reboot")
	assert.Contains(t, vm.Console(), "main loop exited with 3: rebooting")
}

// TestWebPage: the demo device's web container, on its network pool
// "apps" (own namespace, NAT, the device's port 80 forwarded to it),
// serves a page with the device's revision and status, reached through
// QEMU's user network (restrict=on) and a host forward bound to
// 127.0.0.1; os brought eth0 up with udhcpc against QEMU's DHCP, and
// loaded a module with its dependencies from the BSP's modules volume.
// The bridge, veth and nftables modules are loaded by the kernel through
// our modprobe (request_module, modules.alias).
func TestWebPage(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = ConsoleLogs
	// The board's real modules, trimmed to its bsp_modules, not the fake
	// tree of the other QEMU tests.
	b, err := boards.Load(boards.Dir(), "qemu-x86_64")
	require.NoError(t, err)
	o.Board.BSPModules = b.BSPModules
	o.ModulesDir, err = boards.ModulesRelease(qemu.KernelDir(b.Name))
	require.NoError(t, err)
	o.Containers, o.Device = nil, nil // the demo's: web on the "apps" pool, port 80 forwarded to it
	port := freePort(t)
	disk := filepath.Join(t.TempDir(), "disk.img")
	_, err = Build(context.Background(), o, disk)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vm, err := qemu.Start(ctx, qemu.Options{Board: o.Board, Disks: []string{disk},
		Forwards: []string{strconv.Itoa(port) + ":80"}}, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	defer vm.Kill()
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	}()
	_, err = vm.Expect(regexp.MustCompile(`revision 0 status READY`), 180*time.Second)
	require.NoError(t, err)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	var page string
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return resp.StatusCode == 200 && strings.Contains(page, `<td id="status">READY</td>`) &&
			strings.Contains(page, `"name":"web"`)
	}, 60*time.Second, 500*time.Millisecond, "the page at %s shows the device READY and the container list", url)
	assert.Contains(t, page, `<td id="revision">0</td>`, "and its revision")
	assert.Regexp(t, `web: eth0 10\.0\.5\.\d+/24`, vm.Console(),
		"web runs on its pool: the page came through the device's port forward and NAT")
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return regexp.MustCompile(`<td id="network">\{"eth0":"10\.0\.5\.\d+/24"\}</td>`).MatchString(page)
	}, 30*time.Second, 500*time.Millisecond, "device-meta pantavisor.network.web (read by mgmt) shows web's address")
	for _, c := range []string{"os", "mgmt", "web"} {
		assert.Regexp(t, `\{"name":"`+c+`","group":"[a-z]+","status":"(STARTED|READY)"`, page,
			"pv-ctl ls, run by the mgmt container over pv-ctrl, lists %s", c)
	}
	t.Logf("page: %s", page)
	// Expect searches on from READY; os printed its line before that.
	require.Eventually(t, func() bool { return strings.Contains(vm.Console(), "os: modprobe bridge: ") },
		30*time.Second, 200*time.Millisecond, "the os container's modprobe line")
	assert.True(t, strings.Contains(vm.Console(), "os: modprobe bridge: ok"),
		"bridge, stp and llc load from the board's trimmed modules.squashfs (the console above says why not)")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago,
// for a QEMU host forward.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// atoi parses a decimal the console printed.
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err, s)
	return n
}
