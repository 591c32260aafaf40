package device

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

func squash(t *testing.T, file, content string) []byte {
	t.Helper()
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, file), []byte(content), 0o644))
	img := filepath.Join(t.TempDir(), "x.squashfs")
	out, err := exec.Command("mksquashfs", src, img, "-noappend", "-quiet").CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	return data
}

func hexsum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// TestMountBSP: the modules and firmware squashfs of the BSP appear on
// /lib/modules/<release> and /lib/firmware, and go away on unmount.
func TestMountBSP(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "mksquashfs", "make deps installs squashfs-tools")
	objs := map[string][]byte{"bsp/kernel.img": []byte("k"), "bsp/pantavisor": []byte("i"),
		"bsp/modules.squashfs": squash(t, "virtio.ko", "module"), "bsp/firmware.squashfs": squash(t, "fw.bin", "firmware")}
	js := `{"#spec":"pantavisor-service-system@1","bsp/run.json":{"linux":"kernel.img","initrd":"pantavisor",` +
		`"modules":"modules.squashfs","firmware":"firmware.squashfs"}`
	byHash := map[string][]byte{}
	for k, v := range objs {
		byHash[hexsum(v)] = v
		js += `,"` + k + `":"` + hexsum(v) + `"`
	}
	js += "}"
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	s, err := st.Install("0", []byte(js), func(o state.Object) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(byHash[o.SHA])), int64(len(byHash[o.SHA])), nil
	})
	require.NoError(t, err)

	b := BSP{VolumesDir: filepath.Join(dir, "volumes"), Root: filepath.Join(dir, "root"), KernelRelease: "6.1.0"}
	vols, err := mountBSP(b, st, "0", s.BSP)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(b.Root, "lib/modules/6.1.0/virtio.ko"))
	require.NoError(t, err)
	assert.Equal(t, "module", string(got))
	got, err = os.ReadFile(filepath.Join(b.Root, "lib/firmware/fw.bin"))
	require.NoError(t, err)
	assert.Equal(t, "firmware", string(got))
	require.NoError(t, vols.Unmount())
	assert.Equal(t, testenv.Resources{}, testenv.TakeResources(t, dir, "none"), "nothing left mounted")
}
