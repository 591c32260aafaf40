package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
	"pantavisor/mkinitrd/cpio"
)

// modulesLoad is where mkinitrd writes the initramfs's module load list.
const modulesLoad = "etc/pantavisor/modules.load"

// baselineInit is the boot benchmark's baseline /init, a busybox shell
// script doing the least an init must do to run the revision's containers:
//  1. mount proc, sysfs and devtmpfs;
//  2. insmod every module of our initramfs's load list, in its order;
//  3. wait for the storage by label and mount it (ext4, noatime as ours);
//  4. loop-mount each container's root squashfs from trails/<rev>/ read-only
//     and start its /app/init.sh chrooted there, in the background, in the
//     given (group) order; no namespaces, overlay, cgroups or logs;
//  5. wait until each has exec'd its init.sh (/proc/<pid>/comm): our
//     engine calls a container started once its init is exec'd;
//  6. print "baseline: N containers started at <uptime>s" on the console
//     and in the kernel log (a printk stamp to check the host's mapping
//     against), let the inits page in for a second, and power off.
func baselineInit(label, rev string, names []string) string {
	return fmt.Sprintf(`#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
	case "$m" in
	""|"#"*) ;;
	*) insmod "$m" || echo "baseline: insmod $m failed" ;;
	esac
done < /%s
until dev=$(findfs LABEL=%s 2>/dev/null); do usleep 10000; done
mount -t ext4 -o noatime "$dev" /storage || echo "baseline: mounting $dev failed"
for c in %s; do
	mkdir -p "/volumes/$c"
	mount -t squashfs -o loop,ro "/storage/trails/%s/$c/root.squashfs" "/volumes/$c" ||
		echo "baseline: mounting $c failed"
	(cd / && exec chroot "/volumes/$c" /app/init.sh) </dev/null >"/tmp/$c.log" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	n=0
	until read -r comm < "/proc/$p/comm" && [ "$comm" = init.sh ]; do
		n=$((n + 1))
		[ $n -lt 5000 ] || { echo "baseline: pid $p never ran init.sh"; break; }
		usleep 1000
	done
done
read -r up idle < /proc/uptime
echo "baseline: %[5]d containers started at ${up}s"
echo "baseline: %[5]d containers started at ${up}s" > /dev/kmsg
sleep 1
poweroff -f
`, modulesLoad, label, strings.Join(names, " "), rev, len(names))
}

// buildBaselineInitrd writes out, an initramfs (newc, xz with CRC32, a
// 1 MiB dictionary and ours' BCJ filter, as mkinitrd packed ours) holding script as /init, busybox as
// bin/busybox with a symlink per applet, the directories the script uses,
// and the kernel modules and load list of ours (our initramfs) unchanged.
func buildBaselineInitrd(ctx context.Context, ours, busybox, script, out string) error {
	packed, err := os.ReadFile(ours)
	if err != nil {
		return err
	}
	bcj, err := cpio.BCJOf(packed)
	if err != nil {
		return fmt.Errorf("%s: %w", ours, err)
	}
	all, err := cpio.Unpack(packed, 64<<20)
	if err != nil {
		return fmt.Errorf("%s: %w", ours, err)
	}
	var es []cpio.Entry
	for _, e := range all {
		if e.Name == modulesLoad || e.Name == "lib/modules" || strings.HasPrefix(e.Name, "lib/modules/") {
			es = append(es, e)
		}
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	applets, err := busyboxApplets(ctx, busybox)
	if err != nil {
		return err
	}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp",
		"etc", "etc/pantavisor", "lib", "storage", "volumes"} {
		es = append(es, cpio.Entry{Name: d, Mode: cpio.TypeDir | 0o755})
	}
	es = append(es,
		cpio.Entry{Name: "init", Mode: cpio.TypeReg | 0o755, Data: []byte(script)},
		cpio.Entry{Name: "bin/busybox", Mode: cpio.TypeReg | 0o755, Data: bb},
		cpio.Entry{Name: "dev/console", Mode: cpio.TypeChar | 0o600, Major: 5, Minor: 1},
		cpio.Entry{Name: "dev/null", Mode: cpio.TypeChar | 0o666, Major: 1, Minor: 3},
	)
	for _, a := range applets {
		es = append(es, cpio.Entry{Name: a, Mode: cpio.TypeLink | 0o777, Link: "/bin/busybox"})
	}
	packed, err = cpio.Pack(es, bcj) // as mkinitrd packed ours
	if err != nil {
		return err
	}
	return os.WriteFile(out, packed, 0o644)
}

// TestBaselineInitrd builds the baseline from a small stand-in for our
// initramfs: the modules and their load list are carried over byte for
// byte, our binary is not, and /init is the script.
func TestBaselineInitrd(t *testing.T) {
	_, err := os.Stat("/bin/busybox")
	testenv.Require(t, err == nil, "needs /bin/busybox (make deps installs busybox-static)")
	dir := t.TempDir()
	ko := []byte("\x7fELF not really a module")
	list := "# modules in load order\n/lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko\n"
	testenv.RequireCommand(t, "xz", "make deps")
	entries := []cpio.Entry{
		{Name: "init", Mode: cpio.TypeLink | 0o777, Link: "usr/bin/pantavisor"},
		{Name: "usr/bin/pantavisor", Mode: cpio.TypeReg | 0o755, Data: []byte("our binary")},
		{Name: "lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko", Mode: cpio.TypeReg | 0o644, Data: ko},
		{Name: modulesLoad, Mode: cpio.TypeReg | 0o644, Data: []byte(list)},
	}
	packed, err := cpio.Pack(entries, "x86") // as mkinitrd packs for a kernel with CONFIG_XZ_DEC_X86
	require.NoError(t, err)
	ours := filepath.Join(dir, "ours.img")
	require.NoError(t, os.WriteFile(ours, packed, 0o644))

	script := baselineInit("pvstorage", "0", []string{"os", "mgmt", "web"})
	out := filepath.Join(dir, "baseline.img")
	require.NoError(t, buildBaselineInitrd(context.Background(), ours, "/bin/busybox", script, out))
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	bcj, err := cpio.BCJOf(img)
	require.NoError(t, err)
	assert.Equal(t, "x86", bcj, "packed with ours' BCJ filter")
	es, err := cpio.Unpack(img, 64<<20)
	require.NoError(t, err)
	byName := map[string]cpio.Entry{}
	for _, e := range es {
		byName[e.Name] = e
	}
	assert.Equal(t, script, string(byName["init"].Data))
	assert.Equal(t, uint32(cpio.TypeReg), byName["init"].Mode&cpio.TypeMask, "/init is the script itself")
	assert.Equal(t, ko, byName["lib/modules/6.1.0-test/kernel/drivers/block/virtio_blk.ko"].Data)
	assert.Equal(t, list, string(byName[modulesLoad].Data))
	assert.NotContains(t, byName, "usr/bin/pantavisor")
	assert.Equal(t, "/bin/busybox", byName["bin/sh"].Link)
	for _, a := range []string{"mount", "insmod", "findfs", "chroot", "poweroff", "usleep"} {
		found := false
		for name, e := range byName {
			found = found || (filepath.Base(name) == a && e.Link == "/bin/busybox")
		}
		assert.True(t, found, "busybox applet %s the script uses", a)
	}
	assert.Contains(t, script, `mount -t squashfs -o loop,ro "/storage/trails/0/$c/root.squashfs"`)
	assert.Contains(t, script, "for c in os mgmt web; do")
	assert.Contains(t, script, "baseline: 3 containers started at ${up}s")
}
