package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
	"pantavisor/lib/testenv"
)

var (
	testTmp  string // removed by TestMain
	pvOnce   sync.Once
	pvBinary string
)

func TestMain(m *testing.M) {
	var err error
	if testTmp, err = os.MkdirTemp("", "boards-image-test"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(testTmp)
	os.Exit(code)
}

// hostPantavisor builds our binary for this machine once: the tests run
// its install subcommand, as make image does.
func hostPantavisor(t *testing.T) string {
	t.Helper()
	pvOnce.Do(func() { pvBinary = testenv.BuildDevice(t, filepath.Join(testTmp, "pantavisor"), "") })
	_, err := os.Stat(pvBinary)
	require.NoError(t, err, "the device binary was built by the first test that needed it")
	return pvBinary
}

// requireImageTools skips (fails in CI) without the host tools make image uses.
func requireImageTools(t *testing.T) {
	t.Helper()
	for cmd, pkg := range map[string]string{"sfdisk": "fdisk", "mkfs.ext4": "e2fsprogs", "debugfs": "e2fsprogs",
		"grub-mkimage": "grub-common", "grub-editenv": "grub-common", "mksquashfs": "squashfs-tools",
		"unsquashfs": "squashfs-tools", "depmod": "kmod"} {
		testenv.RequireCommand(t, cmd, "make deps installs "+pkg)
	}
	_, err := os.Stat(filepath.Join(DefaultGrubDir, "boot.img"))
	testenv.Require(t, err == nil, "needs "+DefaultGrubDir+" (make deps installs grub-pc-bin)")
	_, err = os.Stat("/bin/busybox")
	testenv.Require(t, err == nil, "needs /bin/busybox (make deps installs busybox-static)")
}

// testOptions are Options for the qemu-x86_64 board with the given kernel
// and initrd, a small fake modules tree and a 32 MiB disk, signed with the
// board's key (its command line asks for strict secure boot).
func testOptions(t *testing.T, kernel, initrd string) Options {
	t.Helper()
	return boardTestOptions(t, "qemu-x86_64", kernel, initrd)
}

// boardTestOptions are testOptions for board. A board of another arch
// gets the busybox boards/fetch-kernel.sh put in its kernel directory,
// its applets listed by this machine's.
func boardTestOptions(t *testing.T, board, kernel, initrd string) Options {
	t.Helper()
	b, err := boards.Load(boards.Dir(), board)
	require.NoError(t, err)
	b.BSPModules = nil // the fake tree below has no module to select
	mods := filepath.Join(t.TempDir(), "6.1.0-test")
	require.NoError(t, os.MkdirAll(filepath.Join(mods, "kernel"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mods, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mods, "modules.order"), nil, 0o644))
	// No bridge or NAT modules in the fake tree: the web container keeps
	// the device's network (TestWebPage puts it back on its pool).
	cs, dev := HostNetwork(Containers(), DeviceJSON())
	o := Options{Board: b, Kernel: kernel, ModulesDir: mods, Initrd: initrd, Pantavisor: hostPantavisor(t),
		Work: t.TempDir(), ImageMiB: 32, Signing: b.SigningDir(boards.Dir()), Containers: cs, Device: dev}
	if b.Arch != runtime.GOARCH {
		o.Busybox, o.BusyboxList = filepath.Join(qemu.KernelDir(b.Name), "busybox"), "/bin/busybox"
		_, err := os.Stat(o.Busybox)
		testenv.Require(t, err == nil, "needs "+o.Busybox+" (make deps BOARD="+b.Name+" fetches it)")
	}
	if b.Bootloader == "uboot" {
		testenv.RequireCommand(t, "mkimage", "make deps installs u-boot-tools")
		o.ImageMiB = 128 // the FAT boot partition takes BootMiB
	}
	return o
}

// fakeFile writes a file of n bytes (not all zero) and returns its path.
func fakeFile(t *testing.T, name string, n int) string {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// debugfs runs a debugfs request on the ext4 filesystem of partition p
// inside disk (the unix I/O manager's offset option: no mount, no loop).
func debugfs(t *testing.T, disk string, p Partition, request string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", request, disk+"?offset="+strconv.FormatInt(p.Offset(), 10)).Output()
	require.NoError(t, err, "debugfs -R %q", request)
	return string(out)
}

// pantavisorInstall runs `pantavisor install` of pkg as rev into storage.
func pantavisorInstall(t *testing.T, pv, storage, rev, pkg string) {
	t.Helper()
	out, err := exec.CommandContext(context.Background(), pv, "install", "--storage", storage, "--rev", rev, pkg).CombinedOutput()
	require.NoError(t, err, "%s", out)
}
