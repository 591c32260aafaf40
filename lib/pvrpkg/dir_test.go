package pvrpkg

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// unpack extracts a package file into a new directory with Walk.
func unpack(t *testing.T, pkg string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "objects"), 0o755))
	f, err := os.Open(pkg)
	require.NoError(t, err)
	defer f.Close()
	err = Walk(f, func(e Entry, body io.Reader) error {
		data, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, e.Name), data, 0o644)
	})
	require.NoError(t, err)
	return dir
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(t, os.WriteFile(name, []byte(data), 0o644))
}

func TestReadDirPackage(t *testing.T) {
	dir := unpack(t, resources+"pvwificonnect.tgz")
	d, err := ReadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, Dir{Path: dir, Layout: LayoutPackage}, d)
	assert.Equal(t, "package", d.Layout.String())

	data, err := d.State()
	require.NoError(t, err)
	st, err := state.Parse(data, state.Options{})
	require.NoError(t, err)
	require.Len(t, st.Objects, 3)
	for _, o := range st.Objects {
		fi, err := d.Stat(o)
		require.NoError(t, err, o.Name)
		assert.True(t, fi.Mode().IsRegular())
		f, err := d.Open(o)
		require.NoError(t, err, o.Name)
		b, err := io.ReadAll(f)
		f.Close()
		require.NoError(t, err)
		assert.Equal(t, o.SHA, shaHex(string(b)), o.Name)
		ok, err := d.Has(o)
		assert.True(t, ok)
		assert.NoError(t, err)
	}

	gone := st.Objects[0]
	require.NoError(t, os.Remove(filepath.Join(dir, "objects", gone.SHA)))
	ok, err := d.Has(gone)
	assert.False(t, ok)
	assert.NoError(t, err)
	_, err = d.Open(gone)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	missing, err := Missing(st.Objects, d.Has)
	require.NoError(t, err)
	assert.Equal(t, []state.Object{gone}, missing)
}

func TestReadDirTrail(t *testing.T) {
	dir := t.TempDir()
	objs := filepath.Join(dir, "objects")
	trail := filepath.Join(dir, "trails", "0")
	shaA, shaB := shaHex("a"), shaHex("b")
	stateJSON := `{"#spec":"pantavisor-service-system@1","x/a":"` + shaA + `","x/b":"` + shaB + `"}`
	writeFile(t, filepath.Join(trail, ".pvr/json"), stateJSON)
	writeFile(t, filepath.Join(trail, ".pvr/config"), `{"ObjectsDir": "../../objects"}`)
	writeFile(t, filepath.Join(trail, "x/a"), "a")
	writeFile(t, filepath.Join(objs, shaB), "b") // not linked into the trail

	d, err := ReadDir(trail)
	require.NoError(t, err)
	assert.Equal(t, Dir{Path: trail, Layout: LayoutTrail, ObjectsDir: objs}, d)
	assert.Equal(t, "trail", d.Layout.String())
	assert.Equal(t, filepath.Join(trail, ".pvr/json"), d.StatePath())
	data, err := d.State()
	require.NoError(t, err)
	assert.Equal(t, stateJSON, string(data))

	st, err := state.Parse(data, state.Options{})
	require.NoError(t, err)
	for _, o := range st.Objects {
		f, err := d.Open(o)
		require.NoError(t, err, o.Name)
		b, _ := io.ReadAll(f)
		f.Close()
		assert.Equal(t, o.SHA, shaHex(string(b)), "%s found by key name or in ObjectsDir", o.Name)
	}

	require.NoError(t, os.Remove(filepath.Join(objs, shaB)))
	missing, err := Missing(st.Objects, d.Has)
	require.NoError(t, err)
	assert.Equal(t, []state.Object{{Name: "x/b", SHA: shaB}}, missing)
}

func TestReadDirTrailConfig(t *testing.T) {
	tests := []struct {
		config string // "" for no .pvr/config
		want   string // ObjectsDir, "<trail>" replaced by the trail dir
		err    string
	}{
		{"", "", ""},
		{`{"ObjectsDir": "/storage/objects"}`, "/storage/objects", ""},
		{`{"ObjectsDir": "objs"}`, "<trail>/objs", ""},
		{`{"DistributionTag": "x"}`, "", ""},
		{`{"ObjectsDir": null}`, "", ""},
		{`{"ObjectsDir": 1}`, "", "ObjectsDir: want a string, got number"},
		{`{"ObjectsDir": `, "", "invalid JSON"},
	}
	for _, tt := range tests {
		trail := t.TempDir()
		writeFile(t, filepath.Join(trail, ".pvr/json"), "{}")
		if tt.config != "" {
			writeFile(t, filepath.Join(trail, ".pvr/config"), tt.config)
		}
		d, err := ReadDir(trail)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.config)
			continue
		}
		require.NoError(t, err, tt.config)
		assert.Equal(t, strings.ReplaceAll(tt.want, "<trail>", trail), d.ObjectsDir, tt.config)
	}
}

func TestReadDirErrors(t *testing.T) {
	empty := t.TempDir()
	_, err := ReadDir(empty)
	assert.ErrorIs(t, err, ErrNoState)
	assert.EqualError(t, err, "reading package directory "+empty+": no state json (want json or .pvr/json)")

	jsonDir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(jsonDir, "json"), 0o755))
	_, err = ReadDir(jsonDir)
	assert.ErrorIs(t, err, ErrNoState, "a directory called json is not a state")

	big := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(big, "json"), nil, 0o644))
	require.NoError(t, os.Truncate(filepath.Join(big, "json"), MaxStateSize+1))
	d, err := ReadDir(big)
	require.NoError(t, err)
	_, err = d.State()
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestDirObjectChecks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "json"), "{}")
	sha := shaHex("x")
	d, err := ReadDir(dir)
	require.NoError(t, err)

	_, err = d.Stat(state.Object{Name: "../x", SHA: sha})
	assert.ErrorIs(t, err, ErrBadObject)
	_, err = d.Stat(state.Object{Name: "x", SHA: "../../etc/passwd"})
	assert.ErrorIs(t, err, ErrBadObject)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "objects", sha), 0o755))
	ok, err := d.Has(state.Object{Name: "x", SHA: sha})
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrNotRegular, "a directory in place of an object")

	fifoSHA := shaHex("fifo")
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "objects", fifoSHA), 0o644))
	_, err = d.Open(state.Object{Name: "x", SHA: fifoSHA})
	assert.ErrorIs(t, err, ErrNotRegular, "a fifo is refused, not opened (which would block)")
}

func TestTrailSymlinks(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "blob"), "x")
	trail := t.TempDir()
	writeFile(t, filepath.Join(trail, ".pvr/json"), "{}")
	require.NoError(t, os.Symlink(filepath.Join(outside, "blob"), filepath.Join(trail, "a")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(trail, "z")))
	d, err := ReadDir(trail)
	require.NoError(t, err)

	f, err := d.Open(state.Object{Name: "a", SHA: shaHex("x")})
	require.NoError(t, err, "a symlink to a regular file is followed")
	f.Close()
	_, err = d.Open(state.Object{Name: "z", SHA: shaHex("x")})
	assert.ErrorIs(t, err, ErrNotRegular, "a symlink to a device is refused")
	ok, err := d.Has(state.Object{Name: "z", SHA: shaHex("x")})
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrNotRegular)
}
