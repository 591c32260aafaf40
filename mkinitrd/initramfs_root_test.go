package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards/qemu"
	"pantavisor/lib/testenv"
)

// listArchive runs Debian's `xz -dc FILE | cpio -t[v]` and returns its lines.
func listArchive(t *testing.T, img string, verbose bool) []string {
	t.Helper()
	flags := "-t"
	if verbose {
		flags = "-tv"
	}
	xzc := exec.Command("xz", "-dc", img)
	cp := exec.Command("cpio", flags, "--quiet")
	var err error
	cp.Stdin, err = xzc.StdoutPipe()
	require.NoError(t, err)
	var out, stderr bytes.Buffer
	cp.Stdout, cp.Stderr = &out, &stderr
	require.NoError(t, xzc.Start())
	require.NoError(t, cp.Run(), "cpio: %s", stderr.String())
	require.NoError(t, xzc.Wait())
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// TestDebianToolsReadInitramfs checks the image with the tools a kernel
// developer would use: `xz -t` accepts it, `xz --list` reports the CRC32
// check and 1 MiB dictionary the kernel's decoder needs, and cpio lists
// /init, the binary, the device nodes and one symlink per applet.
func TestDebianToolsReadInitramfs(t *testing.T) {
	testenv.RequireCommand(t, "xz", "make deps")
	testenv.RequireCommand(t, "cpio", "make deps")
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	img := filepath.Join(dir, "initrd.img")
	mkinitrd(t, img, "-binary", bin, "-applets", applets)

	out, err := exec.Command("xz", "-t", img).CombinedOutput()
	require.NoError(t, err, "xz -t: %s", out)
	out, err = exec.Command("xz", "--robot", "-lvv", img).Output()
	require.NoError(t, err)
	blocks := 0
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, "\t"); f[0] == "block" {
			blocks++
			assert.Equal(t, "CRC32", f[9], "check of %q", l)
			assert.Equal(t, "--lzma2=dict=1MiB", f[len(f)-1], "filters of %q", l)
		}
	}
	assert.NotZero(t, blocks, "xz --list shows no block:\n%s", out)

	names := listArchive(t, img, false)
	for _, want := range []string{"init", "usr/bin/pantavisor", "dev/console", "dev/null", "bin", "sbin", "tmp", "proc", "sys"} {
		assert.Contains(t, names, want)
	}
	assert.IsIncreasing(t, names, "entries are sorted")
	long := strings.Join(listArchive(t, img, true), "\n")
	assert.Contains(t, long, "init -> usr/bin/pantavisor")
	assert.Regexp(t, `(?m)^crw-------.* 5, +1 .* dev/console$`, long)
	assert.Regexp(t, `(?m)^crw-rw-rw-.* 1, +3 .* dev/null$`, long)
	for _, a := range testApplets {
		if a != "pantavisor" {
			assert.Contains(t, long, "usr/bin/"+a+" -> pantavisor", "applet symlink")
		}
	}
}

// TestBoardBuildTwiceSameBytes builds a board's initramfs, with the real
// modules of the fetched Debian kernel, twice and wants identical bytes, a
// modules.dep and a load list.
func TestBoardBuildTwiceSameBytes(t *testing.T) {
	const board = "qemu-x86_64"
	kdir := qemu.KernelDir(board)
	_, err := os.Stat(filepath.Join(kdir, "modules"))
	testenv.Require(t, err == nil, "needs the "+board+" kernel modules in "+kdir+" (make deps fetches them)")
	testenv.RequireCommand(t, "xz", "make deps")
	testenv.RequireCommand(t, "cpio", "make deps")
	dir := t.TempDir()
	bin, applets := fakeInputs(t, dir)
	args := []string{"-binary", bin, "-applets", applets, "-board", board, "-kernel", kdir}
	a := mkinitrd(t, filepath.Join(dir, "a.img"), args...)
	b := mkinitrd(t, filepath.Join(dir, "b.img"), args...)
	require.True(t, bytes.Equal(a, b), "two builds differ (%d and %d bytes)", len(a), len(b))

	names := strings.Join(listArchive(t, filepath.Join(dir, "a.img"), false), "\n")
	assert.Regexp(t, `(?m)^lib/modules/[^/]+/modules\.dep$`, names)
	assert.Regexp(t, `(?m)^lib/modules/[^/]+/.*/ext4\.ko$`, names, "modules are stored uncompressed")
	assert.Contains(t, names, modulesLoad)
	long := strings.Join(listArchive(t, filepath.Join(dir, "a.img"), true), "\n")
	for _, n := range []string{"ca-certificates.crt", "ca-oem-certificates.crt"} {
		assert.Regexp(t, `(?m)^-rw-r--r-- .* etc/pantavisor/pvs/trust/`+regexp.QuoteMeta(n)+`$`, long, "the board's trust store")
	}
}
