package disk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
