package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// fixture is a small revision: a BSP with kernel, initrd and an addon, a
// container with config, rootfs, a .bind file and a dm-verity json, and a
// config overlay. contents maps sha → bytes.
type fixture struct {
	json     []byte
	contents map[string][]byte
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// newFixture builds a state; tag varies the container's rootfs so two
// fixtures share the BSP objects but not the rootfs.
func newFixture(tag string) fixture {
	files := []struct{ key, content string }{
		{"bsp/kernel.img", "kernel"},
		{"bsp/pantavisor", "initrd"},
		{"bsp/addon.cpio.xz4", "addon"},
		{"app/lxc.container.conf", "lxc.rootfs.path = overlayfs:x"},
		{"app/root.squashfs", "rootfs " + tag},
		{"app/root.squashfs.hash", "hash tree " + tag},
		{"app/conf.bind", "bound"},
		{"_config/app/etc/hosts", "127.0.0.1 localhost"},
	}
	f := fixture{contents: map[string][]byte{}}
	var b strings.Builder
	b.WriteString(`{"#spec":"pantavisor-service-system@1",`)
	b.WriteString(`"bsp/run.json":{"linux":"kernel.img","initrd":"pantavisor","addons":["addon.cpio.xz4"]},`)
	b.WriteString(`"app/run.json":{"name":"app","type":"lxc","config":"lxc.container.conf","root-volume":"dm:root.squashfs"},`)
	b.WriteString(`"app/_dm/root.squashfs.json":{"type":"dm-verity","data_device":"root.squashfs","hash_device":"root.squashfs.hash"},`)
	b.WriteString(`"app/src.json":{"args":{}}`)
	for _, fl := range files {
		sha := sum([]byte(fl.content))
		f.contents[sha] = []byte(fl.content)
		b.WriteString(`,"` + fl.key + `":"` + sha + `"`)
	}
	b.WriteString("}")
	f.json = []byte(b.String())
	return f
}

func (f fixture) opener() Opener {
	return func(o state.Object) (io.ReadCloser, int64, error) {
		c, ok := f.contents[o.SHA]
		if !ok {
			return nil, 0, errors.New("not in fixture")
		}
		return io.NopCloser(bytes.NewReader(c)), int64(len(c)), nil
	}
}

func openStorage(t testing.TB, dir string) *Storage {
	t.Helper()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	return s
}

// objectsConsistent checks every object file hashes to its name and no
// temporary file remains.
func objectsConsistent(t testing.TB, s *Storage) {
	t.Helper()
	entries, err := os.ReadDir(s.path("objects"))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "leftover %s", e.Name())
		got, err := HashFile(s.ObjectPath(e.Name()))
		require.NoError(t, err)
		require.Equal(t, e.Name(), got, "object stored under a wrong name")
	}
}
