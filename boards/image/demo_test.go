package image

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrimPackage: the objects named are left out, the rest (json first)
// kept in order with their bytes.
func TestTrimPackage(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "pkg")
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "objects"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "json"), []byte(`{"#spec":"x"}`), 0o644))
	for _, o := range []string{"aa", "bb", "cc"} {
		require.NoError(t, os.WriteFile(filepath.Join(pkg, "objects", o), []byte("body of "+o), 0o644))
	}
	full := filepath.Join(dir, "full.tgz")
	require.NoError(t, WritePackageTgz(pkg, full))
	out := filepath.Join(dir, "trim.tgz")
	require.NoError(t, TrimPackage(full, out, map[string]bool{"objects/aa": true, "objects/cc": true}))

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		names = append(names, h.Name+"="+string(b))
	}
	assert.Equal(t, []string{`json={"#spec":"x"}`, "objects/bb=body of bb"}, names)
	_, err = os.Stat(out + ".tmp")
	assert.True(t, os.IsNotExist(err), "no temporary file left")
	assert.Error(t, TrimPackage(filepath.Join(pkg, "json"), filepath.Join(dir, "bad.tgz"), nil), "not gzip")
}

// TestWithDemo: the debug shell on the command line, /demo bound in mgmt
// only, and the factory containers untouched.
func TestWithDemo(t *testing.T) {
	o := Options{Append: "pv_test=x"}
	WithDemo(&o)
	assert.Equal(t, "pv_test=x "+DemoCmdline, o.Append)
	for _, c := range o.Containers {
		has := strings.Contains(c.LXCConfig(), "lxc.mount.entry = /storage/demo demo none bind,ro,create=dir,optional 0 0")
		assert.Equal(t, c.Name == "mgmt", has, c.Name)
	}
	for _, c := range Containers() {
		assert.NotContains(t, c.LXCConfig(), "/storage/demo", "Containers() is not changed")
	}
	web := Options{Containers: Containers()}
	DemoBroken()(&web)
	c := web.container("web")
	assert.Contains(t, c.Init, ExitingAppLine)
	v2 := Options{Containers: Containers()}
	DemoWebV2()(&v2)
	assert.Contains(t, v2.container("web").Init, "<h1>"+DemoWebV2Line+"</h1>")
}
