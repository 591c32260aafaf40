package device

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
	"pantavisor/lib/volume"
)

// BSP says where the BSP volumes go (embedded mode only).
type BSP struct {
	VolumesDir    string // /volumes: images are mounted at <VolumesDir>/bsp/<file>
	Root          string // "" = /; tests point it at a temp dir
	KernelRelease string // modules go to /lib/modules/<release>
}

// mountBSP mounts the BSP's firmware and modules squashfs images and binds
// them on /lib/firmware and /lib/modules/<release>, as upstream does at
// RUN; it also points the firmware loader at the firmware.
func mountBSP(b BSP, st *storage.Storage, rev string, bsp *state.BSP) (*volume.Mounted, error) {
	if bsp == nil || (bsp.Firmware == "" && bsp.Modules == "") {
		return &volume.Mounted{}, nil
	}
	var images []string
	for _, f := range []string{bsp.Firmware, bsp.Modules} {
		if f != "" {
			images = append(images, f)
		}
	}
	vols, err := volume.Mount(volume.Set{Container: "bsp", Dir: filepath.Join(b.VolumesDir, "bsp"),
		ImageDir: filepath.Join(st.TrailPath(rev), "bsp"), Images: images})
	if err != nil {
		return nil, err
	}
	binds := map[string]string{}
	if bsp.Firmware != "" {
		binds[filepath.Join(b.VolumesDir, "bsp", bsp.Firmware)] = filepath.Join(b.Root, "/lib/firmware")
	}
	if bsp.Modules != "" && b.KernelRelease != "" {
		binds[filepath.Join(b.VolumesDir, "bsp", bsp.Modules)] = filepath.Join(b.Root, "/lib/modules", b.KernelRelease)
	}
	for src, dst := range binds {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, errors.Join(err, vols.Unmount())
		}
		if err := mount.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return nil, errors.Join(printf.Errorf("bsp: %w", err), vols.Unmount())
		}
		vols.Points = append(vols.Points, dst)
	}
	if bsp.Firmware != "" {
		// Best effort: the firmware_class module may be built in or absent.
		_ = os.WriteFile(filepath.Join(b.Root, "/sys/module/firmware_class/parameters/path"),
			[]byte(filepath.Join(b.Root, "/lib/firmware")), 0o644)
	}
	return vols, nil
}
