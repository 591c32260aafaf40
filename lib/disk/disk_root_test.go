package disk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pantavisor/lib/dm"
	"pantavisor/lib/state"
	"pantavisor/lib/swap"
	"pantavisor/lib/testenv"
)

// activeSwaps returns the filenames in /proc/swaps.
func activeSwaps(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/swaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	areas, err := swap.ParseSwaps(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range areas {
		names = append(names, a.Filename)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestZramSwap hot-adds a new zram device (never one that exists), turns
// it on as swap, sees it in /proc/swaps, and undoes: swapped off and the
// device hot-removed.
func TestZramSwap(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.Require(t, exists("/sys/class/zram-control/hot_add"), "needs zram (/sys/class/zram-control)")
	d := state.Disk{Name: "zswap", Type: TypeSwap, Provision: ProvisionZram,
		ProvisionOptions: "disksize=16M comp_algorithm=lzo-rle", MountOptions: "-p 5"}
	r, err := Setup(d, Options{NoZramReuse: true})
	if err != nil {
		t.Fatal(err)
	}
	undone := false
	t.Cleanup(func() {
		if !undone {
			r.Undo()
		}
	})
	t.Logf("warnings: %v", r.Warnings)
	dev := r.Device
	if !strings.HasPrefix(dev, "/dev/zram") || !contains(activeSwaps(t), dev) {
		t.Fatalf("swap device %q: want a new zram device in /proc/swaps %v", dev, activeSwaps(t))
	}
	if err := r.Undo(); err != nil {
		t.Fatal(err)
	}
	undone = true
	if contains(activeSwaps(t), dev) {
		t.Errorf("%s still swapping after Undo", dev)
	}
	if exists("/sys/block/" + filepath.Base(dev)) {
		t.Errorf("%s not hot-removed", dev)
	}
}

// TestSwapFile makes a swap file on the host's disk and turns it on.
func TestSwapFile(t *testing.T) {
	testenv.RequireRoot(t)
	path := filepath.Join(t.TempDir(), "sub", "swapfile")
	d := state.Disk{Name: "fswap", Type: TypeSwap, Provision: ProvisionFile, Path: path, ProvisionOptions: "size=1M"}
	r, err := Setup(d, Options{})
	if errors.Is(err, os.ErrInvalid) || (err != nil && strings.Contains(err.Error(), "invalid argument")) {
		testenv.Require(t, false, "needs a temporary directory on a filesystem that takes swap files: "+err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	if !contains(activeSwaps(t), path) {
		t.Errorf("%s not in /proc/swaps", path)
	}
	if err := r.Undo(); err != nil {
		t.Fatal(err)
	}
	if contains(activeSwaps(t), path) {
		t.Errorf("%s still swapping", path)
	}
}

// TestVolumeBind binds the storage directory of a volume disk.
func TestVolumeBind(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	opts := Options{MediaDir: filepath.Join(dir, "media"), StorageDir: filepath.Join(dir, "storage")}
	r, err := Setup(state.Disk{Name: "vd", Type: TypeVolume}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Mountpoint != opts.CryptDir("vd") {
		t.Errorf("mount point %q", r.Mountpoint)
	}
	if err := os.WriteFile(filepath.Join(r.Mountpoint, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Undo(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "storage/pv/volume-disk/vd/f")); err != nil || string(b) != "x" {
		t.Errorf("backing file: %q, %v", b, err)
	}
}

// TestVolumeZram formats a new zram device with our ext4 formatter and
// mounts it.
func TestVolumeZram(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.Require(t, exists("/sys/class/zram-control/hot_add"), "needs zram (/sys/class/zram-control)")
	mnt := filepath.Join(t.TempDir(), "data")
	d := state.Disk{Name: "zvol", Type: TypeVolume, Provision: ProvisionZram, ProvisionOptions: "disksize=32M",
		Format: "ext4", MountTarget: mnt, MountOptions: "MS_NOATIME,MS_NOSUID"}
	r, err := Setup(d, Options{NoZramReuse: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Undo() })
	if err := os.WriteFile(filepath.Join(mnt, "f"), bytes.Repeat([]byte("z"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "lost+found")); err != nil {
		t.Error(err)
	}
	if err := r.Undo(); err != nil {
		t.Fatal(err)
	}
}

// TestVersatile creates, fills, closes and reopens a versatile crypt disk
// and checks the image holds no plain text. It needs device-mapper with
// dm-crypt: the development VM's kernel has none, the QEMU disk test runs
// it for real.
func TestVersatile(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := (dm.Control{}).Version(); errors.Is(err, dm.ErrNoDM) {
		testenv.RequireKernelFeature(t, false, "device-mapper (CONFIG_BLK_DEV_DM, CONFIG_DM_CRYPT)", "the QEMU crypt disk test")
	}
	dir := t.TempDir()
	opts := Options{MediaDir: filepath.Join(dir, "media")}
	d := state.Disk{Name: "secrets", Type: TypeVersatile, Path: dir + "/crypt/pvgotest" + filepathSafe(t.Name()) + ".img,8,key"}
	secret := bytes.Repeat([]byte("PLAINTEXT-SECRET "), 1000)
	r, err := Setup(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Undo() })
	if err := os.WriteFile(filepath.Join(r.Mountpoint, "s"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Undo(); err != nil {
		t.Fatal(err)
	}
	cp, _ := ParseCryptPath(d.Path)
	img, err := os.ReadFile(cp.Image)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(img, []byte("PLAINTEXT-SECRET")) || bytes.Contains(img, []byte("lost+found")) {
		t.Error("the image holds plain text")
	}
	r, err = Setup(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(r.Mountpoint, "s")); err != nil || !bytes.Equal(b, secret) {
		t.Errorf("after reopening: %d bytes, %v", len(b), err)
	}
	if err := r.Undo(); err != nil {
		t.Fatal(err)
	}
}

func filepathSafe(s string) string { return strings.NewReplacer("/", "-", " ", "-").Replace(s) }

// mountedUnder lists the mount points below dir (/proc/self/mountinfo).
func mountedUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			out = append(out, f[4])
		}
	}
	return out
}

// TestDualBind drives a dual disk over two bind volume disks (the
// orchestration is the same as over crypt disks, which need
// device-mapper: see TestVersatile):
//   - copy-once-to-primary: the secondary's tree (a file of owner 1234
//     and mode 0600, a subdirectory, a symlink; lost+found left out) is
//     copied into a new primary, which is bound at the dual disk's
//     CryptDir; the secondary is unmounted again; the marker is written;
//   - a volume naming the primary directly gets the same mount;
//   - Close leaves nothing mounted;
//   - the next setup does not copy again (the marker is on the storage,
//     unlike upstream's /run): a file changed on the primary keeps its
//     change, through the "primary" step;
//   - "primary" and "secondary" alone with neither created fail naming
//     each step and create nothing.
func TestDualBind(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	opts := Options{MediaDir: filepath.Join(dir, "media"), StorageDir: filepath.Join(dir, "storage")}
	backing := func(name string) string { return filepath.Join(opts.StorageDir, "pv", "volume-disk", name) }
	sec := backing("_old")
	for _, d := range []string{filepath.Join(sec, "sub"), filepath.Join(sec, "lost+found")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"secret": "from the old key", "sub/data": strings.Repeat("d", 100000), "lost+found/x": "no"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(sec, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(sec, "secret"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/data", filepath.Join(sec, "link")); err != nil {
		t.Fatal(err)
	}
	disks := []state.Disk{{Name: "_ml", Type: TypeVolume}, {Name: "_old", Type: TypeVolume},
		{Name: "secrets", Type: TypeDual, Disks: []string{"_ml", "_old"}, InitOrder: []string{StepCopyOnce, StepPrimary, StepCreatePrimary}}}
	newSet := func(ds []state.Disk, o Options) *Set {
		s := &Set{Disks: ds, Options: o, Load: func(string) error { return nil }}
		t.Cleanup(func() { s.Close() })
		return s
	}
	set := newSet(disks, opts)
	mnt, warn, err := set.Mount("secrets")
	if err != nil {
		t.Fatal(err)
	}
	if mnt != opts.CryptDir("secrets") || len(warn) != 1 || !strings.Contains(warn[0], "step copy-once-to-primary mounted") {
		t.Errorf("mount point %q, warnings %q", mnt, warn)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "secret")); err != nil || string(b) != files["secret"] {
		t.Errorf("secret through the dual disk: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "link")); err != nil || string(b) != files["sub/data"] {
		t.Errorf("the symlink through the dual disk: %d bytes, %v", len(b), err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(backing("_ml"), "secret"), &st); err != nil || st.Uid != 1234 || st.Mode&0o777 != 0o600 {
		t.Errorf("the copy on the primary: uid %d mode %o, %v", st.Uid, st.Mode&0o777, err)
	}
	if _, err := os.Stat(filepath.Join(backing("_ml"), "lost+found", "x")); err == nil {
		t.Error("lost+found was copied")
	}
	if _, err := os.Stat(opts.dualMarker(disks[2])); err != nil {
		t.Errorf("the marker: %v", err)
	}
	if direct, _, err := set.Mount("_ml"); err != nil || direct != opts.CryptDir("_ml") {
		t.Errorf("a volume on the primary: %q, %v", direct, err)
	}
	if m := mountedUnder(t, opts.MediaDir); len(m) != 2 || slices.Contains(m, opts.CryptDir("_old")) {
		t.Errorf("mounted: %q, want the primary and the dual disk (the secondary unmounted after the copy)", m)
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if m := mountedUnder(t, opts.MediaDir); len(m) != 0 {
		t.Errorf("after Close: %q", m)
	}

	if err := os.WriteFile(filepath.Join(backing("_ml"), "secret"), []byte("changed on the primary"), 0o600); err != nil {
		t.Fatal(err)
	}
	set = newSet(disks, opts)
	mnt, warn, err = set.Mount("secrets")
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "step primary mounted") {
		t.Fatalf("second setup: %q, %v", warn, err)
	}
	if b, _ := os.ReadFile(filepath.Join(mnt, "secret")); string(b) != "changed on the primary" {
		t.Errorf("copied again: %q", b)
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	onlyCopy := append(disks[:2:2], state.Disk{Name: "secrets", Type: TypeDual, Disks: []string{"_ml", "_old"}, InitOrder: []string{StepCopyOnce}})
	if _, _, err := newSet(onlyCopy, opts).Mount("secrets"); !errors.Is(err, ErrBadDisk) || !strings.Contains(err.Error(), "no other init_order step follows") {
		t.Errorf("copy-once done and nothing after it: %v", err)
	}

	fresh := Options{MediaDir: filepath.Join(dir, "media2"), StorageDir: filepath.Join(dir, "storage2")}
	probe := []state.Disk{{Name: "a", Type: TypeVolume}, {Name: "b", Type: TypeVolume},
		{Name: "d", Type: TypeDual, Disks: []string{"a", "b"}, InitOrder: []string{StepPrimary, StepSecondary}}}
	set = newSet(probe, fresh)
	_, _, err = set.Mount("d")
	if !errors.Is(err, ErrNotInitialized) || !strings.Contains(err.Error(), "primary: ") || !strings.Contains(err.Error(), "secondary: ") {
		t.Errorf("neither created: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh.StorageDir, "pv")); err == nil {
		t.Error("a probe created a disk")
	}
	if m := mountedUnder(t, fresh.MediaDir); len(m) != 0 {
		t.Errorf("after a failed setup: %q", m)
	}
}
