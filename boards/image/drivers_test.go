package image

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStorageDriversAndUserMeta: Options.Drivers becomes revision 0's
// bsp/drivers.json (which `pantavisor install` parses) and
// Options.UserMeta the storage's cache/meta/<key> files; an update
// derived from it keeps the drivers in a copy of its own.
func TestStorageDriversAndUserMeta(t *testing.T) {
	requireImageTools(t)
	o := testOptions(t, fakeFile(t, "vmlinuz", 64<<10), fakeFile(t, "initrd.img", 32<<10))
	o.Drivers = driversJSON()
	o.UserMeta = map[string]string{"dummies": "3", "other": ""}
	storage := filepath.Join(t.TempDir(), "storage")
	_, err := BuildStorage(context.Background(), o, storage)
	require.NoError(t, err)

	raw, err := os.ReadFile(filepath.Join(storage, "trails", "0", ".pvr", "json"))
	require.NoError(t, err)
	var st map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &st))
	assert.JSONEq(t, `{"all":{"net":["dummy numdummies=${user-meta:dummies}"],"bad":["nosuchmod"],"opt":["nosuchopt"]}}`,
		string(st["bsp/drivers.json"]))
	for k, v := range o.UserMeta {
		got, err := os.ReadFile(filepath.Join(storage, "cache", "meta", k))
		require.NoError(t, err)
		assert.Equal(t, v, string(got), "user-meta %s", k)
	}

	d, err := derive(o)
	require.NoError(t, err)
	d.Drivers["all"].(map[string]any)["net"] = []string{"other"}
	assert.Equal(t, driversJSON(), o.Drivers, "a change does not alter the base's drivers")
}

// TestWriteUserMetaRefusesBadKeys: a key that is no file name is an
// error naming it; no user-meta writes nothing.
func TestWriteUserMetaRefusesBadKeys(t *testing.T) {
	for _, k := range []string{"", "a/b", ".hidden", "../up"} {
		err := writeUserMeta(t.TempDir(), map[string]string{k: "v"})
		assert.ErrorContains(t, err, "user-meta key "+`"`+k+`"`)
	}
	dir := t.TempDir()
	require.NoError(t, writeUserMeta(dir, nil))
	_, err := os.Stat(filepath.Join(dir, "cache"))
	assert.True(t, os.IsNotExist(err), "no user-meta: no cache/meta")
}
