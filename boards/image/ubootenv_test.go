package image

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
	"pantavisor/lib/testenv"
)

// fakeUboot is a binary with a default env block among other strings: a
// decoy "bootcmd=" block that lacks distro boot's variables first.
func fakeUboot() []byte {
	return []byte("\x7fELF junk\x00bootcmd=decoy\x00\x00more junk\x00" +
		"bootcmd=run distro_bootcmd\x00bootdelay=2\x00preboot=usb start;\x00boot_targets=mmc0 usb0\x00" +
		"kernel_addr_r=0x00080000\x00ramdisk_addr_r=0x02700000\x00stdin=serial,usbkbd\x00\x00\xff\xfe trailer")
}

// TestUbootDefaultEnv: the default env is the "bootcmd=" block that has
// distro boot's variables (a decoy block is passed over); a binary
// without one is refused.
func TestUbootDefaultEnv(t *testing.T) {
	vars, err := ubootDefaultEnv(fakeUboot())
	require.NoError(t, err)
	assert.Equal(t, []string{"bootcmd=run distro_bootcmd", "bootdelay=2", "preboot=usb start;", "boot_targets=mmc0 usb0",
		"kernel_addr_r=0x00080000", "ramdisk_addr_r=0x02700000", "stdin=serial,usbkbd"}, vars)
	for name, bin := range map[string]string{
		"no env":          "\x7fELF no environment here",
		"decoy only":      "x\x00bootcmd=decoy\x00\x00",
		"binary in block": "x\x00bootcmd=a\x00boot_targets=b\x00kernel_addr_r=\x01\x02\x00ramdisk_addr_r=c\x00\x00",
	} {
		_, err := ubootDefaultEnv([]byte(bin))
		assert.ErrorContains(t, err, "no default env", name)
	}
}

// TestSetEnv: values replaced in place, "" removes, new ones appended in
// name order.
func TestSetEnv(t *testing.T) {
	got := setEnv([]string{"bootcmd=run distro_bootcmd", "bootdelay=2", "preboot=usb start;", "stdin=serial,usbkbd"},
		map[string]string{"bootdelay": "0", "preboot": "", "stdin": "serial", "zz": "1", "aa": "2", "gone": ""})
	assert.Equal(t, []string{"bootcmd=run distro_bootcmd", "bootdelay=0", "stdin=serial", "aa=2", "zz=1"}, got)
}

// TestUbootEnvImage: the same bytes as u-boot-tools' mkenvimage makes of
// the same variables (CRC32 of the data, entries NUL-terminated, zero
// padding); an env that does not fit is refused.
func TestUbootEnvImage(t *testing.T) {
	vars := []string{"bootcmd=run distro_bootcmd", "bootdelay=0", "stdin=serial"}
	img, err := ubootEnvImage(vars, 16384)
	require.NoError(t, err)
	require.Len(t, img, 16384)
	assert.Equal(t, crc32.ChecksumIEEE(img[4:]), binary.LittleEndian.Uint32(img))
	assert.Equal(t, strings.Join(vars, "\x00")+"\x00\x00", string(img[4:4+len(strings.Join(vars, "\x00"))+2]))
	testenv.RequireCommand(t, "mkenvimage", "make deps installs u-boot-tools")
	dir := t.TempDir()
	txt := filepath.Join(dir, "env.txt")
	require.NoError(t, os.WriteFile(txt, []byte(strings.Join(vars, "\n")+"\n"), 0o644))
	out := filepath.Join(dir, "env.bin")
	b, err := exec.Command("mkenvimage", "-s", "16384", "-p", "0", "-o", out, txt).CombinedOutput()
	require.NoError(t, err, "%s", b)
	want, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, want, img, "mkenvimage's bytes")

	_, err = ubootEnvImage([]string{strings.Repeat("x", 1020) + "=1"}, 1024)
	assert.ErrorContains(t, err, "do not fit")
}

// TestRpi64DefaultEnv: Debian's Pi U-Boot (fetched by make deps) has a
// default env this finds, with the board's changes applicable.
func TestRpi64DefaultEnv(t *testing.T) {
	b, err := boards.Load(boards.Dir(), "rpi64")
	require.NoError(t, err)
	bin := filepath.Join(qemu.KernelDir(b.Name), b.BootFiles[b.UbootEnv.Binary])
	data, err := os.ReadFile(bin)
	testenv.Require(t, err == nil, "needs "+bin+" (make deps fetches the board's packages)")
	vars, err := ubootDefaultEnv(data)
	require.NoError(t, err)
	assert.Contains(t, vars, "bootcmd=run distro_bootcmd")
	set := setEnv(vars, b.UbootEnv.Set)
	assert.Contains(t, set, "bootdelay=0")
	for _, v := range set {
		assert.False(t, strings.HasPrefix(v, "preboot="), "no USB preboot: %s", v)
	}
	_, err = ubootEnvImage(set, b.UbootEnv.Size)
	assert.NoError(t, err)
}
