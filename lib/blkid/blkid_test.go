package blkid

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

// fakeDisks makes a /sys/class/block and /dev with two ext4 images (made
// by Debian's mkfs.ext4) and one blank device.
func fakeDisks(t *testing.T) Finder {
	t.Helper()
	testenv.RequireCommand(t, "mkfs.ext4", "make deps installs e2fsprogs")
	root := t.TempDir()
	f := Finder{Sys: filepath.Join(root, "sys"), Dev: filepath.Join(root, "dev")}
	require.NoError(t, os.MkdirAll(filepath.Join(f.Sys, "class", "block"), 0o755))
	require.NoError(t, os.MkdirAll(f.Dev, 0o755))
	for name, label := range map[string]string{"vda1": "pvstorage", "vdb": "other", "vdc": ""} {
		require.NoError(t, os.Mkdir(filepath.Join(f.Sys, "class", "block", name), 0o755))
		img := filepath.Join(f.Dev, name)
		require.NoError(t, os.WriteFile(img, make([]byte, 4<<20), 0o644))
		if label != "" {
			out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", label, img).CombinedOutput()
			require.NoError(t, err, "%s", out)
		}
	}
	return f
}

func TestFind(t *testing.T) {
	f := fakeDisks(t)
	dev, err := f.Find("LABEL=pvstorage")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(f.Dev, "vda1"), dev)

	info, err := probeFile(filepath.Join(f.Dev, "vdb"))
	require.NoError(t, err)
	assert.Equal(t, "ext4", info.Type)
	assert.Equal(t, "other", info.Label)
	dev, err = f.Find("UUID=" + info.UUID)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(f.Dev, "vdb"), dev)

	_, err = f.Find("LABEL=missing")
	assert.ErrorIs(t, err, ErrNotFound)
	dev, err = f.Find(filepath.Join(f.Dev, "vdc"))
	require.NoError(t, err, "a path is taken as is")
	assert.Equal(t, filepath.Join(f.Dev, "vdc"), dev)
	_, err = f.Find("/dev/nonexistent")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = f.Wait("LABEL=missing", 0)
	assert.ErrorIs(t, err, ErrNotFound)

	blank, err := probeFile(filepath.Join(f.Dev, "vdc"))
	require.NoError(t, err)
	assert.Equal(t, Info{}, blank, "no filesystem")
}

func FuzzProbe(f *testing.F) {
	f.Add(make([]byte, 2048))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Probe(readerAt(data))
		if err == nil && info.Type == "ext4" && len(info.UUID) != 36 {
			t.Fatalf("bad uuid %q", info.UUID)
		}
	})
}

type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r)) {
		return 0, os.ErrClosed
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, os.ErrClosed
	}
	return n, nil
}

// TestProbeFAT: FAT12, FAT16 and FAT32 made by Debian's mkfs.vfat, with
// and without a label, with a fixed volume ID; a FAT partition is found
// by LABEL= and UUID= like ext4.
func TestProbeFAT(t *testing.T) {
	testenv.RequireCommand(t, "mkfs.vfat", "make deps installs dosfstools")
	dir := t.TempDir()
	for _, tc := range []struct {
		name, fat, label string
		mib              int
		want             Info
	}{
		{"fat12", "12", "PVBOOT", 4, Info{Type: "vfat", Label: "PVBOOT", UUID: "1234-ABCD"}},
		{"fat16", "16", "BOOT", 16, Info{Type: "vfat", Label: "BOOT", UUID: "1234-ABCD"}},
		{"fat32", "32", "RASPI FW", 40, Info{Type: "vfat", Label: "RASPI FW", UUID: "1234-ABCD"}},
		{"no label", "12", "", 4, Info{Type: "vfat", UUID: "1234-ABCD"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(img, make([]byte, tc.mib<<20), 0o644))
			args := []string{"-F", tc.fat, "-i", "1234abcd"}
			if tc.label != "" {
				args = append(args, "-n", tc.label)
			}
			out, err := exec.Command("mkfs.vfat", append(args, img)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			info, err := probeFile(img)
			require.NoError(t, err)
			assert.Equal(t, tc.want, info)
		})
	}
	f := Finder{Sys: filepath.Join(dir, "sys"), Dev: dir}
	require.NoError(t, os.MkdirAll(filepath.Join(f.Sys, "class", "block", "fat12"), 0o755))
	dev, err := f.Find("LABEL=PVBOOT")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "fat12"), dev)
	dev, err = f.Find("UUID=1234-abcd")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "fat12"), dev)
}

// TestProbeNotFAT: a 0x55AA mark alone (an MBR) or a short device is no
// filesystem.
func TestProbeNotFAT(t *testing.T) {
	mbr := make([]byte, 4096)
	mbr[510], mbr[511] = 0x55, 0xaa
	info, err := Probe(bytes.NewReader(mbr))
	require.NoError(t, err)
	assert.Equal(t, Info{}, info)
	_, err = Probe(bytes.NewReader(make([]byte, 100)))
	assert.Error(t, err)
}
