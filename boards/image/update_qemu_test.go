package image

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards/qemu"
)

// bootWith builds the image of o and boots it with q's machine options
// (Board and Disks are filled in: the image first); the VM is killed, its
// console logged on failure, when the test ends.
func bootWith(t *testing.T, o Options, q qemu.Options) *qemu.VM {
	t.Helper()
	disk := filepath.Join(t.TempDir(), "disk.img")
	_, err := Build(context.Background(), o, disk)
	require.NoError(t, err)
	q.Board = o.Board
	q.Disks = append([]string{disk}, q.Disks...)
	ctx, cancel := context.WithCancel(context.Background())
	vm, err := qemu.Start(ctx, q, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		vm.Kill()
		cancel()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	})
	return vm
}

// qmpPath returns a unix socket path short enough for sun_path.
func qmpPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "qmp")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "qmp")
}

var readyRE = regexp.MustCompile(`revision 0 status READY`)

// TestQMPResetReboots: the image boots with a QMP socket and a read-only
// package disk holding an update package; mgmt mounts the disk and lists
// the package; a system_reset over QMP (a hard reset: no shutdown) makes
// the same QEMU boot again, the console capture goes on, and the second
// boot, waited for after a mark, reaches READY and mounts the disk again.
func TestQMPResetReboots(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = ConsoleLogs
	WithPackageDisk(&o)
	pkg := filepath.Join(t.TempDir(), "app.tgz")
	require.NoError(t, BuildUpdatePackage(context.Background(), o, AppOnlyChange("2"), pkg))
	pkgDisk := filepath.Join(t.TempDir(), "packages.img")
	require.NoError(t, BuildPackageDisk(context.Background(), map[string]string{"app.tgz": pkg}, pkgDisk))

	vm := bootWith(t, o, qemu.Options{Reboot: true, QMP: qmpPath(t), ReadOnlyDisks: []string{pkgDisk}})
	q, err := vm.QMP()
	require.NoError(t, err)
	st, err := q.QueryStatus()
	require.NoError(t, err)
	assert.Equal(t, qemu.Status{Status: "running", Running: true}, st)

	// mgmt's line and READY come in either order: mgmt's script runs
	// while the engine starts web, and its lines pass the log server.
	boot := vm.Mark()
	pkgLine := regexp.MustCompile(`[^\n]*` + regexp.QuoteMeta(PackagesLine) + `app\.tgz`)
	line, err := vm.ExpectSince(boot, pkgLine, 240*time.Second)
	require.NoError(t, err, "mgmt mounts the read-only package disk at %s", PackageDir)
	t.Logf("console: %s", line)
	_, err = vm.ExpectSince(boot, readyRE, 240*time.Second)
	require.NoError(t, err, "first boot")

	mark := vm.Mark()
	start := time.Now()
	require.NoError(t, q.SystemReset())
	_, err = vm.ExpectSince(mark, regexp.MustCompile(`Command line: `), 120*time.Second)
	require.NoError(t, err, "the reset boots GRUB and the kernel again in the same QEMU")
	_, err = vm.ExpectSince(mark, pkgLine, 240*time.Second)
	require.NoError(t, err, "the package disk again after the reset")
	_, err = vm.ExpectSince(mark, readyRE, 240*time.Second)
	require.NoError(t, err, "second boot")
	t.Logf("system_reset -> READY again in %.1fs (TCG)", time.Since(start).Seconds())

	var resets int
	for _, e := range q.Events() {
		if e.Event == "RESET" {
			resets++
		}
	}
	assert.Equal(t, 1, resets, "QEMU reported the reset")
	assert.Equal(t, 2, len(readyRE.FindAllString(vm.Console(), -1)), "one READY per boot, in one console")
	assert.NotContains(t, vm.Console(), "Kernel panic")
	require.NoError(t, q.Quit())
	assert.NoError(t, vm.Wait(30*time.Second), "quit ends QEMU with status 0")
}

// TestInstallFromPackageDisk: mgmt uploads an update package from the
// read-only package disk with `pv-ctl steps install` over pv-ctrl
// (InstallAtBoot without run): the package BuildUpdatePackage made is
// accepted by the device, and the step is listed afterwards.
func TestInstallFromPackageDisk(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = ConsoleLogs
	WithPackageDisk(&o)
	InstallAtBoot("app.tgz", "app", false)(&o)
	pkg := filepath.Join(t.TempDir(), "app.tgz")
	require.NoError(t, BuildUpdatePackage(context.Background(), o, AppOnlyChange("2"), pkg))
	pkgDisk := filepath.Join(t.TempDir(), "packages.img")
	require.NoError(t, BuildPackageDisk(context.Background(), map[string]string{"app.tgz": pkg}, pkgDisk))

	vm := bootWith(t, o, qemu.Options{ReadOnlyDisks: []string{pkgDisk}})
	// Short patterns: the log server may split a long container line.
	m, err := vm.Expect(regexp.MustCompile(regexp.QuoteMeta(InstallLine("app"))+`\d+`), 240*time.Second)
	require.NoError(t, err)
	assert.Equal(t, InstallLine("app")+"0", m, "pv-ctl steps install exits 0")
	up, err := vm.Expect(regexp.MustCompile(`mgmt: install uploaded \d+ objects`), 60*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "mgmt: install uploaded 1 objects", up,
		"only web's new squashfs: the BSP and the other containers are revision 0's objects")
}
