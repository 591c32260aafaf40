package meta

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckKey(t *testing.T) {
	for _, c := range []struct {
		key string
		err string // substring; "" = valid
	}{
		{key: "pantavisor.arch"},
		{key: "interfaces"},
		{key: "app.a.b"},
		{key: "PH_UPDATER_INTERVAL"},
		{key: "fleet.update-proto.token"},
		{key: "c.tmp"},
		{key: "x"},
		{key: "clé.ünïcode"},
		{key: strings.Repeat("k", MaxKey)},
		{key: "", err: "empty"},
		{key: strings.Repeat("k", MaxKey+1), err: "201 bytes, at most 200"},
		{key: "app/key", err: `invalid metadata key "app/key": contains '/'`},
		{key: "/abs", err: "contains '/'"},
		{key: ".", err: "starts with '.'"},
		{key: "..", err: `contains ".."`},
		{key: "a..b", err: `contains ".."`},
		{key: "x...", err: `contains ".."`},
		{key: ".hidden", err: "starts with '.'"},
		{key: ".k.tmp", err: "starts with '.'"},
		{key: "app.", err: "ends with '.'"},
		{key: "a\nb", err: "control character 0x0a"},
		{key: "a\x00b", err: "control character 0x00"},
		{key: "a\x7fb", err: "control character 0x7f"},
	} {
		err := CheckKey(c.key)
		if c.err == "" {
			assert.NoError(t, err, "%q", c.key)
			continue
		}
		assert.ErrorIs(t, err, ErrInvalidKey, "%q", c.key)
		assert.ErrorContains(t, err, c.err, "%q", c.key)
	}
}

func TestSplitKey(t *testing.T) {
	for _, c := range []struct{ key, c, sub string }{
		{"app.key", "app", "key"},
		{"app.a.b", "app", "a.b"},
		{"pantavisor.arch", "pantavisor", "arch"},
		{"plain", "", ""},
	} {
		cont, sub, ok := SplitKey(c.key)
		assert.Equal(t, c.c != "", ok, c.key)
		if ok {
			assert.Equal(t, c.c, cont, c.key)
			assert.Equal(t, c.sub, sub, c.key)
		}
	}
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "device-meta", Device.String())
	assert.Equal(t, "user-meta", User.String())
	assert.Equal(t, Device, Kind(0))
}

func TestNewDefaults(t *testing.T) {
	d, u := New(Device), New(User)
	assert.Equal(t, "/run/pantavisor/pv/device-meta", d.Dir)
	assert.Equal(t, "/storage/cache/devmeta", d.Persist)
	assert.Equal(t, "/run/pantavisor/pv/user-meta", u.Dir)
	assert.Equal(t, "/storage/cache/meta", u.Persist)
	assert.Equal(t, "/run/pantavisor/pv/user-meta.app", u.ContainerDir("app"))
	assert.Equal(t, "/run/pantavisor/pv/device-meta.app", (&Store{}).ContainerDir("app"))
	assert.Equal(t, "/run/pantavisor/pv/user-meta", (&Store{Kind: User}).dir())
}
