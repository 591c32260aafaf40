package disk

import (
	"path/filepath"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
	"pantavisor/lib/swap"
	"pantavisor/lib/zram"
)

// Check says, without touching the system, whether Setup would refuse d
// on a board with opts's key hardware: the refusals (NXP key hardware,
// an unknown type; a dual disk is checked by Plan, with its sub-disks)
// and the definition errors Setup finds before its first step. The warnings are the ones Setup gives for d's options
// (format_options that cannot be honoured). A nil error does not promise
// the setup succeeds: the kernel, the storage and zram decide at boot.
func Check(d state.Disk, opts Options) ([]string, error) {
	if d.Name == "" {
		return nil, printf.Errorf("disk: %w: no name", ErrBadDisk)
	}
	w, err := check(d, opts)
	if err != nil {
		return w, printf.Errorf("disk %q: %w", d.Name, err)
	}
	return w, nil
}

func check(d state.Disk, opts Options) ([]string, error) {
	switch d.Type {
	case TypeVersatile:
		_, err := ParseCryptPath(d.Path)
		return nil, err
	case TypeCAAM:
		return nil, needHardware(d, "CAAM", opts.HasCAAM)
	case TypeDCP:
		return nil, needHardware(d, "DCP", opts.HasDCP)
	case TypeSwap:
		return checkSwap(d)
	case TypeVolume:
		return checkVolume(d)
	case TypeDual:
		return nil, printf.Errorf("%w: a dual disk is checked with the state's other disks (Plan)", ErrBadDisk)
	}
	return nil, printf.Errorf("%w: unknown type %q", ErrBadDisk, d.Type)
}

// checkSwap is setupSwap's checks of the definition.
func checkSwap(d state.Disk) ([]string, error) {
	var warn []string
	if d.FormatOptions != "" {
		warn = append(warn, printf.Sprintf("format_options %q ignored: the swap header is written without mkswap", d.FormatOptions))
	}
	if _, err := swap.ParseFlags(d.MountOptions); err != nil {
		return warn, printf.Errorf("%w: mount_options: %w", ErrBadDisk, err)
	}
	switch d.Provision {
	case "":
		return warn, printf.Errorf("%w: a swap-disk needs a provision (zram, file, or block for the device at path)", ErrBadDisk)
	case ProvisionZram:
		if _, err := zram.ParseOptions(d.ProvisionOptions); err != nil {
			return warn, printf.Errorf("%w: provision_options: %w", ErrBadDisk, err)
		}
	case ProvisionFile:
		if d.Path == "" || !filepath.IsAbs(d.Path) {
			return warn, printf.Errorf("%w: a swap file needs an absolute path, got %q", ErrBadDisk, d.Path)
		}
		_, err := optionSize(d.ProvisionOptions, "size")
		return warn, err
	}
	return warn, nil
}

// checkVolume is setupVolume's checks of the definition.
func checkVolume(d state.Disk) ([]string, error) {
	if d.Provision == "" {
		return nil, nil
	}
	if d.Format != "ext4" && d.Format != "ext3" {
		return nil, printf.Errorf("%w: format %q: want ext4 or ext3", ErrBadDisk, d.Format)
	}
	if d.MountTarget == "" || !filepath.IsAbs(d.MountTarget) {
		return nil, printf.Errorf("%w: mount_target %q must be an absolute path", ErrBadDisk, d.MountTarget)
	}
	if _, err := MountFlags(d.MountOptions); err != nil {
		return nil, printf.Errorf("%w: mount_options: %w", ErrBadDisk, err)
	}
	if d.FormatOptions != "" {
		return []string{printf.Sprintf("format_options %q ignored: formatted without mkfs", d.FormatOptions)}, nil
	}
	return nil, nil
}

// Usage is one disk of a state as `pantavisor validate` reports it.
type Usage struct {
	Disk     state.Disk
	Volumes  []string // on it: "<container>/<volume>", "bsp/<volume>" for device.json's
	Warnings []string
	Err      error // why Setup would refuse it (Check), or ErrNoDisk
}

// Plan returns the Usage of every disk of s in device.json order, then
// one (Err ErrNoDisk) per disk a volume names that device.json does not
// define. A volume that names no disk is on the default disk, if any;
// volumes on a swap disk are an error, as in Set.Mount.
func Plan(s *state.State, opts Options) []Usage {
	set := Set{Disks: s.Device.Disks}
	out := make([]Usage, len(s.Device.Disks))
	index, missing := map[string]int{}, map[string]int{}
	for i, d := range s.Device.Disks {
		out[i].Disk = d
		if d.Type == TypeDual {
			out[i].Warnings, out[i].Err = checkDualSubs(d, s.Device.Disks, opts)
			if out[i].Err != nil {
				out[i].Err = printf.Errorf("disk %q: %w", d.Name, out[i].Err)
			}
		} else {
			out[i].Warnings, out[i].Err = Check(d, opts)
		}
		index[d.Name] = i
	}
	add := func(owner string, v state.Volume) {
		name := owner + "/" + v.Name
		d, err := set.Lookup(v.Disk)
		switch {
		case err != nil:
			i, ok := missing[v.Disk]
			if !ok {
				i = len(out)
				missing[v.Disk] = i
				out = append(out, Usage{Disk: state.Disk{Name: v.Disk}, Err: err})
			}
			out[i].Volumes = append(out[i].Volumes, name)
		case d != nil:
			out[index[d.Name]].Volumes = append(out[index[d.Name]].Volumes, name)
		}
	}
	for _, v := range s.Device.Volumes {
		add("bsp", v)
	}
	for _, c := range s.Containers {
		for _, v := range c.Storage {
			add(c.Name, v)
		}
	}
	for i, u := range out {
		if u.Disk.Type == TypeSwap && len(u.Volumes) > 0 && u.Err == nil {
			out[i].Err = printf.Errorf("disk %q: %w: a swap-disk holds no volumes", u.Disk.Name, ErrBadDisk)
		}
	}
	return out
}
