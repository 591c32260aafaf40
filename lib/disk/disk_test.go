package disk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pantavisor/lib/state"
)

func TestParseCryptPath(t *testing.T) {
	got, err := ParseCryptPath("/storage/dm-crypt-files/dm-internal-secrets/versatile.img,2,versatile_key-internal_secrets")
	want := CryptPath{
		Dir:      "/storage/dm-crypt-files/dm-internal-secrets",
		Image:    "/storage/dm-crypt-files/dm-internal-secrets/versatile.img",
		SizeMiB:  2,
		Key:      "/storage/dm-crypt-files/dm-internal-secrets/versatile_key-internal_secrets.txt",
		InitDone: "/storage/dm-crypt-files/dm-internal-secrets/versatile_key-internal_secrets.init_done",
		DMName:   "versatile",
	}
	if err != nil || got != want {
		t.Errorf("ParseCryptPath = %+v, %v\nwant %+v", got, err, want)
	}
	for _, bad := range []string{
		"", "versatile.img,2,key", "/s/versatile.img,2", "/s/versatile.img,2,key,x", "/s/,2,key",
		"/s/versatile.img,0,key", "/s/versatile.img,-1,key", "/s/versatile.img,2M,key", "/s/versatile.img,2,",
		"/s/.img,2,key", "-v2 /s/caam.img,2,key",
	} {
		if _, err := ParseCryptPath(bad); !errors.Is(err, ErrBadDisk) {
			t.Errorf("ParseCryptPath(%q) = %v, want ErrBadDisk", bad, err)
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		disk state.Disk
		opts Options
		is   error
		msg  string
	}{
		{state.Disk{Name: "x", Type: TypeDCP, Mode: "mainline"}, Options{}, ErrNoKeyHardware,
			`disk "x": dm-crypt-dcp needs NXP DCP key hardware, which this board does not have`},
		{state.Disk{Name: "y", Type: TypeCAAM, Mode: "nxp"}, Options{}, ErrNoKeyHardware,
			`disk "y": dm-crypt-caam needs NXP CAAM key hardware, which this board does not have`},
		{state.Disk{Name: "x", Type: TypeDCP, Mode: "mainline"}, Options{HasDCP: true}, ErrUnsupported, "NXP DCP keys"},
		{state.Disk{Name: "x", Type: TypeCAAM}, Options{HasCAAM: true}, ErrUnsupported, "NXP CAAM keys"},
		{state.Disk{Name: "d", Type: TypeDual, Disks: []string{"a", "b"}}, Options{}, ErrBadDisk, "set up with the state's other disks"},
		{state.Disk{Name: "u", Type: "raid"}, Options{}, ErrBadDisk, `unknown type "raid"`},
		{state.Disk{Type: TypeSwap}, Options{}, ErrBadDisk, "no name"},
		{state.Disk{Name: "s", Type: TypeSwap}, Options{}, ErrBadDisk, "needs a provision"},
		{state.Disk{Name: "s", Type: TypeSwap, Provision: "zram", MountOptions: "-x"}, Options{}, ErrBadDisk, `"-x"`},
		{state.Disk{Name: "s", Type: TypeSwap, Provision: "zram", ProvisionOptions: "disksize"}, Options{}, ErrBadDisk, "provision_options"},
		{state.Disk{Name: "s", Type: TypeSwap, Provision: "file", Path: "/x"}, Options{}, ErrBadDisk, "no size="},
		{state.Disk{Name: "s", Type: TypeSwap, Provision: "file", Path: "rel", ProvisionOptions: "size=1M"}, Options{}, ErrBadDisk, "absolute path"},
		{state.Disk{Name: "s", Type: TypeSwap, Provision: "block", Path: "/nonexistent"}, Options{}, ErrBadDisk, "/nonexistent"},
		{state.Disk{Name: "v", Type: TypeVolume, Provision: "zram", Format: "xfs", MountTarget: "/t"}, Options{}, ErrBadDisk, `format "xfs"`},
		{state.Disk{Name: "v", Type: TypeVolume, Provision: "zram", Format: "ext4"}, Options{}, ErrBadDisk, "mount_target"},
		{state.Disk{Name: "v", Type: TypeVolume, Provision: "zram", Format: "ext4", MountTarget: "/t", MountOptions: "MS_BOGUS"}, Options{}, ErrBadDisk, "MS_BOGUS"},
		{state.Disk{Name: "c", Type: TypeVersatile, Path: "/s/img"}, Options{}, ErrBadDisk, "want /<dir>"},
	} {
		_, err := Setup(c.disk, c.opts)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Setup(%+v) = %v; want %v containing %q", c.disk, err, c.is, c.msg)
		}
	}
}

func TestNoCreate(t *testing.T) {
	dir := t.TempDir()
	d := state.Disk{Name: "c", Type: TypeVersatile, Path: dir + "/versatile.img,2,key"}
	if _, err := Setup(d, Options{NoCreate: true}); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("NoCreate: %v", err)
	}
	if exists(dir + "/key.txt") {
		t.Error("NoCreate made a key")
	}
}

func TestNewKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k.txt")
	src := bytes.Repeat([]byte{7}, 40)
	if err := newKey(p, Options{Random: bytes.NewReader(src)}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k, err := readKey(p)
	if err != nil || !bytes.Equal(k, src[:32]) {
		t.Errorf("readKey = %x, %v", k, err)
	}
	if exists(p + ".tmp") {
		t.Error("temporary key left")
	}
	if err := newKey(p, Options{Random: bytes.NewReader(src[:31])}); err == nil {
		t.Error("a short random source gave a key")
	}
	// the kernel's source, with a /dev without hwrng
	p2 := filepath.Join(t.TempDir(), "k2.txt")
	if err := newKey(p2, Options{Dev: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if k2, err := readKey(p2); err != nil || bytes.Equal(k2, make([]byte, 32)) {
		t.Errorf("kernel random key = %x, %v", k2, err)
	}
	short := filepath.Join(t.TempDir(), "short.txt")
	os.WriteFile(short, []byte("abc"), 0o600)
	if _, err := readKey(short); err == nil {
		t.Error("a 3-byte key accepted")
	}
}

func TestMountFlags(t *testing.T) {
	for _, f := range mountFlagNames {
		got, err := MountFlags(f.name)
		if err != nil || got != f.flag {
			t.Errorf("MountFlags(%q) = %#x, %v; want %#x", f.name, got, err, f.flag)
		}
	}
	want := map[string]uintptr{
		"MS_DIRSYNC": unix.MS_DIRSYNC, "MS_LAZYTIME": unix.MS_LAZYTIME, "MS_MANDLOCK": unix.MS_MANDLOCK,
		"MS_NOATIME": unix.MS_NOATIME, "MS_NODEV": unix.MS_NODEV, "MS_NODIRATIME": unix.MS_NODIRATIME,
		"MS_NOEXEC": unix.MS_NOEXEC, "MS_NOSUID": unix.MS_NOSUID, "MS_RDONLY": unix.MS_RDONLY, "MS_REC": unix.MS_REC,
		"MS_RELATIME": unix.MS_RELATIME, "MS_SILENT": unix.MS_SILENT, "MS_STRICTATIME": unix.MS_STRICTATIME,
		"MS_SYNCHRONOUS": unix.MS_SYNCHRONOUS,
	}
	if len(want) != len(mountFlagNames) {
		t.Errorf("table has %d names, want %d", len(mountFlagNames), len(want))
	}
	for name, flag := range want {
		if got, err := MountFlags(name); err != nil || got != flag {
			t.Errorf("MountFlags(%q) = %#x, %v; want %#x", name, got, err, flag)
		}
	}
	if got, err := MountFlags(" MS_NOATIME , MS_NOSUID,,"); err != nil || got != unix.MS_NOATIME|unix.MS_NOSUID {
		t.Errorf("combination = %#x, %v", got, err)
	}
	for _, bad := range []string{"noatime", "MS_NOATIME,MS_X", "ms_noatime"} {
		if _, err := MountFlags(bad); err == nil {
			t.Errorf("MountFlags(%q) accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"4096", 4096}, {"64M", 64 << 20}, {"1G", 1 << 30}, {"8K", 8192}, {"8k", 8192}, {"2kB", 2000},
		{"3MB", 3000000}, {"1GB", 1000000000}, {"10b", 5120}, {"7c", 7},
		{"", -1}, {"M", -1}, {"0", -1}, {"-1M", -1}, {"1T", -1}, {"1.5M", -1}, {"99999999999G", -1},
	} {
		got, err := parseSize(c.in)
		if c.want < 0 {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", c.in, got)
			}
		} else if err != nil || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	if n, err := optionSize("foo=1 size=64M", "size"); err != nil || n != 64<<20 {
		t.Errorf("optionSize = %d, %v", n, err)
	}
}

func TestCryptDir(t *testing.T) {
	if got := (&Options{}).CryptDir("secrets"); got != "/media/pv/dmcrypt/secrets" {
		t.Errorf("CryptDir = %q", got)
	}
	if got := (&Options{MediaDir: "/run/pantavisor/media"}).CryptDir("s"); got != "/run/pantavisor/media/pv/dmcrypt/s" {
		t.Errorf("CryptDir = %q", got)
	}
}
