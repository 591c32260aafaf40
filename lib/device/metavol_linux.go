package device

import (
	"path/filepath"
)

// The device.json volumes that hold the metadata stores when a revision
// declares them (upstream's USRMETAVOL_DNAME and DEVMETAVOL_DNAME).
const (
	usrMetaVolume = "pv--usrmeta"
	devMetaVolume = "pv--devmeta"
)

// bspVolumesDir is where device.json's own volumes are mounted:
// <volumes>/bsp/<name>.
func (d *Device) bspVolumesDir() string {
	return filepath.Join(d.o.Launch.Host.Volumes(), "bsp")
}

// metaPersist is where a metadata store persists its keys: the mounted
// directory of device.json's volume vol (pv--usrmeta, pv--devmeta) when
// the running revision declares it, else def (the storage's cache/meta or
// cache/devmeta). As upstream's pv_metadata_mount (metadata.c), the
// volume replaces the storage directory outright: nothing is copied from
// it, and nothing is written to it while the volume is declared. The
// volume is mounted by setupDisks before the stores are opened; when it
// cannot be, the revision fails and no store is opened.
func (d *Device) metaPersist(vol, def string) string {
	if d.cur == nil {
		return def
	}
	for _, v := range d.cur.Device.Volumes {
		if v.Name == vol {
			return filepath.Join(d.bspVolumesDir(), vol)
		}
	}
	return def
}
