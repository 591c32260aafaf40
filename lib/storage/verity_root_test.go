package storage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/fsverity"
	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

// verityObjects is a revision whose rootfs-like object carries a marker
// the test finds in the raw image.
func verityObjects(marker string) map[string][]byte {
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16) // 64 KiB
	copy(big[5000:], marker)
	return map[string][]byte{
		"app/root.squashfs":      big,
		"app/lxc.container.conf": []byte("lxc.rootfs.path = overlayfs:x\n"),
		"_config/app/etc/hosts":  []byte("127.0.0.1 localhost\n"),
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestVerityUnsupportedExt4: on ext4 made without the verity feature the
// install and the check work as before: every object hashed, the reason
// in the report, no record.
func TestVerityUnsupportedExt4(t *testing.T) {
	fs := testenv.MountExt4(t, 32<<20)
	st, err := storage.Open(fs.Mnt, storage.Options{})
	require.NoError(t, err)
	testenv.InstallRevision(t, st, "0", verityObjects("PV-PLAIN"), nil)
	rep, err := st.Verify("0")
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Hashed)
	assert.Zero(t, rep.Measured+rep.Sealed)
	assert.ErrorIs(t, rep.Verity, fsverity.ErrUnsupported)
	assert.NoDirExists(t, filepath.Join(fs.Mnt, "verity"))
}

// TestVerityObjects, on ext4 made with -O verity: installed objects have
// fs-verity and a record; the check measures them without hashing; an
// object from before (no verity, no record) is hashed once and sealed;
// a byte flipped in an object's data on the raw image passes the constant
// time check but fails the read with EIO.
func TestVerityObjects(t *testing.T) {
	fs := testenv.MountExt4(t, 32<<20, "verity")
	probe := filepath.Join(fs.Mnt, "probe")
	require.NoError(t, os.WriteFile(probe, []byte("x"), 0o644))
	err := fsverity.Enable(probe)
	testenv.RequireKernelFeature(t, !errors.Is(err, fsverity.ErrUnsupported), "fs-verity (CONFIG_FS_VERITY): "+errText(err),
		"boards/image TestQEMUVerityCorruptObject")
	require.NoError(t, err)

	st, err := storage.Open(fs.Mnt, storage.Options{})
	require.NoError(t, err)
	marker := "PV-VERITY-MARKER-" + filepath.Base(t.TempDir())
	objs := verityObjects(marker)
	testenv.InstallRevision(t, st, "0", objs, nil)
	for _, c := range objs {
		d, err := fsverity.Measure(st.ObjectPath(sha(c)))
		require.NoError(t, err, "installed objects have fs-verity")
		rec, err := os.ReadFile(filepath.Join(fs.Mnt, "verity", sha(c)))
		require.NoError(t, err)
		assert.Equal(t, d.String()+"\n", string(rec))
	}
	rep, err := st.Verify("0")
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Measured)
	assert.Zero(t, rep.Hashed, "nothing hashed")
	assert.NoError(t, rep.Verity)

	// An object stored before fs-verity: a plain copy, no record.
	hosts := st.ObjectPath(sha(objs["_config/app/etc/hosts"]))
	trailHosts := filepath.Join(st.TrailPath("0"), "_config/app/etc/hosts")
	require.NoError(t, os.Remove(hosts))
	require.NoError(t, os.Remove(trailHosts))
	require.NoError(t, os.Remove(filepath.Join(fs.Mnt, "verity", sha(objs["_config/app/etc/hosts"]))))
	require.NoError(t, os.WriteFile(hosts, objs["_config/app/etc/hosts"], 0o644))
	require.NoError(t, os.Link(hosts, trailHosts))
	rep, err = st.Verify("0")
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Measured)
	assert.Equal(t, 1, rep.Hashed)
	assert.Equal(t, 1, rep.Sealed, "sealed at its first check")
	rep, err = st.Verify("0")
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Measured)
	_, err = os.OpenFile(hosts, os.O_WRONLY, 0)
	assert.ErrorIs(t, err, unix.EPERM, "a sealed object refuses writers")

	// One byte of the rootfs object flipped on the raw image.
	fs.Unmount(t)
	img, err := os.ReadFile(fs.Img)
	require.NoError(t, err)
	at := bytes.Index(img, []byte(marker))
	require.Positive(t, at, "marker in the image")
	require.Equal(t, -1, bytes.Index(img[at+1:], []byte(marker)), "marker once in the image")
	f, err := os.OpenFile(fs.Img, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{img[at] ^ 0x20}, int64(at))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	fs.Mount(t)

	rep, err = st.Verify("0")
	require.NoError(t, err, "the digest check is constant time: it does not read the data")
	assert.Equal(t, 3, rep.Measured)
	_, err = os.ReadFile(filepath.Join(st.TrailPath("0"), "app/root.squashfs"))
	require.ErrorIs(t, err, unix.EIO, "the corrupt block fails the read")
	assert.True(t, strings.Contains(err.Error(), "root.squashfs"), "%v", err)
}

func errText(err error) string {
	if err == nil {
		return "supported"
	}
	return err.Error()
}
