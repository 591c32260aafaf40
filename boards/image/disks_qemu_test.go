package image

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
)

// diskMarker is what the vault container writes to its crypt volume. Its
// init script builds it from two halves, so neither the script nor the
// console (which the log server stores in plain text) ever holds it.
const diskMarker = "pvgo-crypt-marker-7f3a9c"

// vaultInit: prints its volume's mount and the active swaps, then reads
// the marker back (a later start) or writes it and syncs (the first),
// and says so in mgmt's status volume.
const vaultInit = `#!/bin/sh
trap 'exit 0' TERM INT
m="pvgo-crypt-"
m="${m}marker-7f3a9c"
echo "vault: mount: $(grep ' /var/secret ' /proc/mounts)"
echo "vault: swaps: $(tail -n +2 /proc/swaps | tr -s ' \t' ' ')"
if [ "$(cat /var/secret/marker 2>/dev/null)" = "$m" ]; then
	echo "vault: marker read back"
else
	echo "$m" > /var/secret/marker && sync && sleep 1 && sync && echo "vault: marker written"
fi
touch /var/pvstatus/vault-ready
while :; do
	sleep 3600 &
	wait $!
done
`

// usrMetaKey is the user-meta key mgmt saves through pv-ctl on the first
// boot, with usrMetaMarker as value; it prints the key read back in
// upper case (so no console log holds the marker itself).
const (
	usrMetaKey    = "pvgo-secret"
	usrMetaMarker = "pvgo-usrmeta-marker-5e1d0b"
)

// saveUsrMeta is mgmt's first-boot step: save usrMetaKey (its value
// built from two halves, so neither the script nor the console holds
// it) and say whether pv-ctl succeeded.
const saveUsrMeta = `	m="pvgo-usrmeta-"
	m="${m}marker-5e1d0b"
	if out=$(/pantavisor/bin/pv-ctl usrmeta save ` + usrMetaKey + ` "$m" 2>&1); then echo "mgmt: usrmeta saved"
	else echo "mgmt: usrmeta save failed: $out"; fi
`

// diskDevice is device.json with a dm-crypt-versatile disk (8 MiB image,
// upstream's path format) holding pv--usrmeta, a 16 MiB zram swap disk,
// and in disks_v3 (as upstream's docs have it) the dual disk "vault"
// holding the vault's volume: a key migration from "_vault-old" (never
// created here) to "_vault-ml", both versatile, init_order
// copy-once-to-primary, primary, create-primary.
func diskDevice() map[string]any {
	d := DeviceJSON()
	d["disks"] = []any{
		map[string]any{"name": "secrets", "type": "dm-crypt-versatile",
			"path": "/storage/dm-crypt-files/secrets/versatile.img,8,versatile_key"},
		map[string]any{"name": "swap", "type": "swap-disk", "provision": "zram", "provision_options": "disksize=16M"},
	}
	d["disks_v3"] = []any{
		map[string]any{"name": "_vault-ml", "type": "dm-crypt-versatile", "path": "/storage/dm-crypt-files/vault-ml/ml.img,8,ml_key"},
		map[string]any{"name": "_vault-old", "type": "dm-crypt-versatile", "path": "/storage/dm-crypt-files/vault-old/old.img,8,old_key"},
		map[string]any{"name": "vault", "type": "dual", "disks": []any{"_vault-ml", "_vault-old"},
			"init_order": []any{"copy-once-to-primary", "primary", "create-primary"}},
	}
	d["volumes"] = map[string]any{"pv--usrmeta": map[string]any{"disk": "secrets", "persistence": "permanent"}}
	return d
}

// diskModules are the modules the disks need (disk.Modules) in the real
// kernel tree: dm-crypt with aes-cbc-essiv:sha256 (aes, cbc and sha256
// are built into Debian's kernel) and zram.
var diskModules = []string{"kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-crypt.ko", "kernel/crypto/essiv.ko",
	"kernel/drivers/block/zram"}

// useDiskModules gives o the board's real modules, trimmed to
// diskModules (a small BSP, quick to build), after checking the board's
// bsp_modules select each of them.
func useDiskModules(t *testing.T, o *Options) {
	t.Helper()
	b, err := boards.Load(boards.Dir(), "qemu-x86_64")
	require.NoError(t, err)
	for _, m := range diskModules {
		found := false
		for _, k := range b.BSPModules {
			found = found || m == k || strings.HasPrefix(m, k+"/")
		}
		assert.True(t, found, "the board's bsp_modules ship %s", m)
	}
	o.Board.BSPModules = diskModules
	o.ModulesDir, err = boards.ModulesRelease(qemu.KernelDir(b.Name))
	require.NoError(t, err)
}

// startVM boots disk again (no package disk: mgmt finds none and
// installs nothing) with a QMP socket; the VM is killed at the test's end.
func startVM(t *testing.T, o Options, disk string) (*qemu.VM, *qemu.QMP) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	vm, err := qemu.Start(ctx, qemu.Options{Board: o.Board, Disks: []string{disk}, QMP: qmpPath(t)},
		filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		vm.Kill()
		cancel()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	})
	q, err := vm.QMP()
	require.NoError(t, err)
	return vm, q
}

// vaultOptions are the factory Options of the disk test: device.json
// of diskDevice, the vault (group app, restart_policy container: an
// update restarts it alone) with its permanent volume on the crypt disk
// and mgmt's status volume bound at /var/pvstatus, where it says when
// its marker is on the disk; mgmt, which waits for that, saves the
// user-meta key usrMetaKey (pv--usrmeta is on the crypt disk), then installs
// and runs the update package keep.tgz (InstallAtBoot); on a boot of
// that update, mgmt instead prints the user-meta it reads back through
// pv-ctl and powers the device off once the vault is done (retrying
// while the updater still tests the revision).
func vaultOptions(t *testing.T) Options {
	t.Helper()
	o := qemuImageOptions(t)
	o.Append = scenarioAppend
	o.Device = diskDevice()
	mgmt := Containers()[1]
	require.Equal(t, "mgmt", mgmt.Name)
	o.Containers = []Container{mgmt, {Name: "vault", Group: "app", Roles: []string{"nobody"}, Init: vaultInit,
		Storage: map[string]string{"docker--var-secret": "permanent"},
		Disks:   map[string]string{"docker--var-secret": "vault"},
		Run:     map[string]any{"restart_policy": "container"},
		Mounts: []string{"/volumes/vault/docker--var-secret var/secret none bind,rw,create=dir 0 0",
			"/volumes/mgmt/" + statusVolume + " var/pvstatus none bind,rw,create=dir 0 0"}}}
	WithPackageDisk(&o)
	InstallAtBoot("keep.tgz", "keep", true)(&o)
	o.container("mgmt").prependInit("while [ ! -e /var/pvstatus/vault-ready ]; do sleep 1; done\n" +
		"if [ \"$(cat /pantavisor/device-meta/pantavisor.revision 2>/dev/null)\" = locals/keep ]; then\n" +
		"\techo \"mgmt: usrmeta: $(/pantavisor/bin/pv-ctl usrmeta ls 2>&1 | tr a-z A-Z)\"\n" +
		"\twhile :; do\n\t\tout=$(/pantavisor/bin/pv-ctl cmd poweroff 2>&1)\n\t\techo \"mgmt: poweroff: $out\"\n" +
		"\t\tcase \"$out\" in *Error*) sleep 2 ;; *) break ;; esac\n\tdone\n" +
		"else\n" + saveUsrMeta + "fi\n")
	useDiskModules(t, &o)
	return o
}

// TestQEMUDisksCryptAndSwap: a signed revision 0 whose device.json has a
// dm-crypt-versatile disk, a zram swap disk and a dual disk over two
// versatile ones. First boot: the dual disk finds no secondary to copy
// and no primary, so it creates the primary; the vault's permanent
// volume is a bind from /dev/mapper/ml (that crypt disk, created,
// formatted and mounted by the device) and /dev/zram0 is in
// /proc/swaps; the vault writes the marker; mgmt saves a user-meta key
// through pv-ctl (pv--usrmeta is on the crypt disk too), then installs and runs
// an update that changes the vault and keeps its volume: the new vault
// reads the marker back. After a power cut the disk image holds the
// marker nowhere in plain text, nor the user-meta value (cache/meta does
// not have the key), and the storage holds the crypt image, its key and
// init_done, the dual disk's marker, nothing of the secondary. Second
// boot on the same disk, into the update: the dual disk mounts its
// primary, the marker is read back through the crypt disk again, mgmt reads the user-meta
// key back from pv--usrmeta through pv-ctl; mgmt then powers
// the device off, and the storage unmounts cleanly: the disks were undone.
func TestQEMUDisksCryptAndSwap(t *testing.T) {
	o := vaultOptions(t)
	pkg := filepath.Join(t.TempDir(), "keep.tgz")
	require.NoError(t, BuildUpdatePackage(context.Background(), o, func(o *Options) {
		VersionChange("vault", "2")(o)
	}, pkg))
	start := time.Now()
	s := bootScenario(t, o, map[string]string{"keep.tgz": pkg}, false)
	s.rev = "locals/keep"
	from := s.pos()
	s.seen(from, `disk "vault": dual: step create-primary mounted /media/pv/dmcrypt/_vault-ml`, 240*time.Second,
		"the dual disk: no secondary to copy, no primary yet: the primary is created")
	s.seen(from, `vault: mount: /dev/mapper/ml /var/secret ext4 `, 240*time.Second, "the vault's volume is on the dual disk's primary, a crypt disk")
	s.seen(from, `vault: swaps: /dev/zram0 partition \d+`, 30*time.Second, "the zram swap disk is on")
	s.seen(from, `vault: marker written`, 30*time.Second, "the vault writes its marker")
	t.Logf("first boot, marker written: %.1f s", time.Since(start).Seconds())
	s.seen(from, `mgmt: usrmeta saved`, 60*time.Second, "mgmt saves its user-meta key through pv-ctl")
	s.seen(from, q(RunLine("keep"))+"0", 240*time.Second, "mgmt runs the update")
	m, _ := s.seen(from, q(VersionLine("vault", "2"))+`[\s\S]*?vault: marker (read back|written)`, 120*time.Second,
		"the updated vault starts")
	assert.True(t, strings.HasSuffix(m, "read back"), "the update kept the volume: the new vault reads the marker back")
	s.expect(statusRE(s.rev, "UPDATED"), 120*time.Second, "the update commits")
	t.Logf("first boot, update committed: %.1f s", time.Since(start).Seconds())
	st := s.powerOff()

	raw, err := os.ReadFile(s.disk)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(diskMarker)), "the marker is nowhere on the disk in plain text")
	assert.False(t, bytes.Contains(raw, []byte("marker-7f3a9c")), "nor its tail")
	assert.False(t, bytes.Contains(raw, []byte(usrMetaMarker)), "the user-meta value is nowhere on the disk in plain text")
	assert.False(t, bytes.Contains(raw, []byte("marker-5e1d0b")), "nor its tail")
	raw = nil
	assert.Subset(t, st.ls("/dm-crypt-files/secrets"), []string{"versatile.img", "versatile_key.txt", "versatile_key.init_done"},
		"the crypt image, its key and the init_done marker are on the storage")
	assert.Len(t, st.cat("/dm-crypt-files/secrets/versatile_key.txt"), 32, "a 256-bit key")
	assert.Subset(t, st.ls("/dm-crypt-files/vault-ml"), []string{"ml.img", "ml_key.txt", "ml_key.init_done"}, "the dual disk's primary")
	assert.Empty(t, st.ls("/dm-crypt-files/vault-old"), "the secondary was only probed, never created")
	assert.Contains(t, st.ls("/disks"), "dual__vault-ml__vault-old.init_done", "the dual disk's marker, on the storage")
	assert.NotContains(t, st.ls("/cache/meta"), usrMetaKey, "user-meta is not on plain storage")

	start = time.Now()
	vm, _ := startVM(t, o, s.disk)
	expect := func(re string, why string) {
		t.Helper()
		_, err := vm.Expect(regexp.MustCompile(re), 240*time.Second)
		require.NoError(t, err, why)
	}
	expect(`disk "vault": dual: step primary mounted /media/pv/dmcrypt/_vault-ml`, "the dual disk: copied before, so the primary is mounted")
	expect(q(VersionLine("vault", "2")), "the second boot runs the update")
	expect(`vault: mount: /dev/mapper/ml /var/secret ext4 `, "the crypt disk is opened again")
	expect(`vault: marker read back`, "the marker written before the power cut is read back")
	expect(`mgmt: usrmeta: .*`+q(`"`+strings.ToUpper(usrMetaKey)+`":"`+strings.ToUpper(usrMetaMarker)+`"`),
		"the user-meta key saved before the power cut is read back from pv--usrmeta")
	t.Logf("second boot: %.1f s", time.Since(start).Seconds())
	expect(`pantavisor: storage unmounted`, "mgmt's poweroff: the swap and crypt disks were undone, so the storage unmounts")
	expect(`reboot: Power down`, "the device powers off")
	assert.NoError(t, vm.Wait(30*time.Second))
	assert.NotContains(t, vm.Console(), "vault: marker written")
	assert.NotContains(t, vm.Console(), "pantavisor: disks:", "no disk failed to set up or to be undone")
}
