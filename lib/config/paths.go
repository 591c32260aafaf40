package config

import (
	"path"
	"strings"

	"pantavisor/lib/printf"
)

// Device directories that no key's table default gives.
const (
	// DefaultStorage is where the storage is mounted when
	// PV_STORAGE_MNTPOINT is unset (upstream's table has no default; its
	// shipped configuration sets /storage).
	DefaultStorage = "/storage"
	// DefaultRunDir is the run dir when no level set PV_SYSTEM_RUNDIR:
	// upstream's embedded configuration file sets /run/pantavisor/pv, and
	// this device has always used it; the table's default (/pv, upstream's
	// code default) is kept for /config and /config2.
	DefaultRunDir = "/run/pantavisor/pv"
)

// Paths are the device's directories, derived from a Config by Paths. Every
// field is an absolute, cleaned path.
type Paths struct {
	Storage string // PV_STORAGE_MNTPOINT: the storage; DefaultStorage when unset
	RunDir  string // PV_SYSTEM_RUNDIR: sockets, metadata views; DefaultRunDir unless a level set it
	Volumes string // PV_DISK_VOLDIR: volume mount points, <Volumes>/<container>/<volume>
	Configs string // PV_SYSTEM_CONFDIR: containers' config overlay copies
	Logs    string // PV_LOG_DIR: the log tree
	DevMeta string // PV_CACHE_DEVMETADIR: persisted device metadata
	UsrMeta string // PV_CACHE_USRMETADIR: persisted user metadata
}

// pathKeys are the keys Paths reads. A key under storageRelative whose
// value is its default follows Storage: PV_LOG_DIR /storage/logs/ becomes
// <Storage>/logs when PV_STORAGE_MNTPOINT (or Override, appengine's
// --storage) moves the storage.
var pathKeys = [...]Key{StorageMntpoint, SystemRundir, DiskVoldir, SystemConfdir, LogDir, CacheDevmetadir, CacheUsrmetadir}

// Paths returns the device's directories in effect, in three steps: read
// each key of Paths, take the device default of an unset Storage or
// default RunDir, and move a default under /storage to the storage in
// effect. It fails, naming the key, for a value that is not an absolute
// path.
func (c *Config) Paths() (Paths, error) {
	var v [len(pathKeys)]string
	for i, k := range pathKeys {
		val := c.Get(k)
		s := val.String()
		switch {
		case k == StorageMntpoint && s == "":
			s = DefaultStorage
		case k == SystemRundir && val.Level() == LevelDefault:
			s = DefaultRunDir
		}
		if !path.IsAbs(s) {
			return Paths{}, printf.Errorf("%s %q: %w: want an absolute path", k.Name(), s, ErrBadValue)
		}
		v[i] = path.Clean(s)
	}
	for i, k := range pathKeys {
		if rest, ok := strings.CutPrefix(v[i], DefaultStorage+"/"); ok && c.Get(k).Level() == LevelDefault {
			v[i] = path.Join(v[0], rest)
		}
	}
	return Paths{Storage: v[0], RunDir: v[1], Volumes: v[2], Configs: v[3], Logs: v[4], DevMeta: v[5], UsrMeta: v[6]}, nil
}
