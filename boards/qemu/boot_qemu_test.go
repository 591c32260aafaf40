package qemu

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/lib/testenv"
)

// bootBoard builds the initramfs for board and starts it with extra
// kernel arguments. The VM is killed when the test ends.
func bootBoard(t *testing.T, name, appendArgs string) (*VM, string) {
	t.Helper()
	b, err := boards.Load(boards.Dir(), name)
	require.NoError(t, err)
	testenv.RequireCommand(t, b.QEMU, "make deps installs it")
	kdir := KernelDir(name)
	_, err = os.Stat(filepath.Join(kdir, "vmlinuz"))
	testenv.Require(t, err == nil, "needs the "+name+" kernel in "+kdir+" (make deps fetches it)")

	dir := t.TempDir()
	initrd, err := BuildInitrd(dir, b, kdir, "qemu-test")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	log := filepath.Join(dir, "console.log")
	vm, err := Start(ctx, Options{Board: b, Kernel: filepath.Join(kdir, "vmlinuz"), Initrd: initrd, Append: appendArgs}, log)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		vm.Kill()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	})
	return vm, initrd
}

var (
	bannerRE   = regexp.MustCompile(`Pantavisor qemu-test \(Go\) on Linux (\S+) x86_64: init up at ([0-9.]+)s, (\d+) modules loaded`)
	powerOffRE = regexp.MustCompile(`reboot: Power down`)
	kernelRE   = regexp.MustCompile(`\[\s*([0-9.]+)\] Run /init as init process`)
)

// TestBootPowerOff boots the Debian kernel with our initramfs: /init must
// mount the early filesystems, load every module mkinitrd listed, print the
// banner and, with pv_test=poweroff, power the machine off cleanly.
func TestBootPowerOff(t *testing.T) {
	vm, initrd := bootBoard(t, "qemu-x86_64", "pv_test=poweroff")
	list, err := ModuleList(initrd)
	require.NoError(t, err)
	require.NotEmpty(t, list)

	run, err := vm.Expect(kernelRE, 240*time.Second)
	require.NoError(t, err, "kernel reaches /init")
	banner, err := vm.Expect(bannerRE, 120*time.Second)
	require.NoError(t, err, "init prints its banner")
	m := bannerRE.FindStringSubmatch(banner)
	mods, _ := strconv.Atoi(m[3])
	assert.Equal(t, len(list), mods, "every module of the initramfs load list loaded")

	_, err = vm.Expect(powerOffRE, 60*time.Second)
	require.NoError(t, err, "clean power-off")
	require.NoError(t, vm.Wait(30*time.Second), "qemu exits 0 on power-off")

	console := vm.Console()
	assert.NotContains(t, console, "early boot:", "no early mount failed")
	assert.NotContains(t, console, "finit_module", "no module failed to load")
	assert.NotContains(t, console, "Kernel panic")
	assert.Contains(t, console, "pv_test=poweroff: powering off")

	toInit, _ := strconv.ParseFloat(kernelRE.FindStringSubmatch(run)[1], 64)
	up, _ := strconv.ParseFloat(m[2], 64)
	t.Logf("BOOT TIME (kernel %s, TCG): kernel start -> /init %.2fs, -> banner %.2fs (init work %.2fs)",
		m[1], toInit, up, up-toInit)
	if dir := os.Getenv("PV_BOOT_REPORT"); dir != "" {
		line := strings.Join([]string{m[1], strconv.FormatFloat(toInit, 'f', 2, 64), m[2]}, " ")
		os.WriteFile(dir, []byte(line+"\n"), 0o644)
	}
}
