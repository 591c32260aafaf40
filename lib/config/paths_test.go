package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPaths(t *testing.T) {
	embedded := Paths{Storage: "/storage", RunDir: "/run/pantavisor/pv", Volumes: "/volumes", Configs: "/configs",
		Logs: "/storage/logs", DevMeta: "/storage/cache/devmeta", UsrMeta: "/storage/cache/meta"}
	for _, tc := range []struct {
		name string
		set  func(c *Config) error
		want Paths
	}{
		{"defaults: the paths the device has always used", func(*Config) error { return nil }, embedded},
		{"a config file moves the run dir", func(c *Config) error {
			return c.Set(LevelPVConf, "PV_SYSTEM_RUNDIR", "/pv")
		}, func() Paths { p := embedded; p.RunDir = "/pv"; return p }()},
		{"appengine overrides: storage-relative defaults follow the storage", func(c *Config) error {
			if err := c.Override(StorageMntpoint, "/tmp/ae/storage/"); err != nil {
				return err
			}
			if err := c.Override(SystemRundir, "/tmp/ae/run"); err != nil {
				return err
			}
			if err := c.Override(DiskVoldir, "/tmp/ae/volumes"); err != nil {
				return err
			}
			return c.Override(SystemConfdir, "/tmp/ae/configs")
		}, Paths{Storage: "/tmp/ae/storage", RunDir: "/tmp/ae/run", Volumes: "/tmp/ae/volumes", Configs: "/tmp/ae/configs",
			Logs: "/tmp/ae/storage/logs", DevMeta: "/tmp/ae/storage/cache/devmeta", UsrMeta: "/tmp/ae/storage/cache/meta"}},
		{"a key set explicitly does not follow the storage", func(c *Config) error {
			if err := c.Set(LevelPVConf, "PV_STORAGE_MNTPOINT", "/data"); err != nil {
				return err
			}
			return c.Set(LevelPVConf, "PV_LOG_DIR", "/storage/logs/")
		}, Paths{Storage: "/data", RunDir: "/run/pantavisor/pv", Volumes: "/volumes", Configs: "/configs",
			Logs: "/storage/logs", DevMeta: "/data/cache/devmeta", UsrMeta: "/data/cache/meta"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			require.NoError(t, tc.set(c))
			p, err := c.Paths()
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
		})
	}
}

func TestPathsRefusesRelative(t *testing.T) {
	for k, v := range map[Key]string{SystemRundir: "run/pv", LogDir: "logs", StorageMntpoint: "storage", DiskVoldir: ""} {
		c := New()
		require.NoError(t, c.Override(k, v))
		_, err := c.Paths()
		require.ErrorIs(t, err, ErrBadValue, k.Name())
		assert.Contains(t, err.Error(), k.Name())
	}
}
