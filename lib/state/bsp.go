package state

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// BSP is bsp/run.json: the boot assets, as paths relative to "bsp/".
type BSP struct {
	Linux, Initrd, FDT string // used when neither FIT nor RPiAB
	FIT                string
	RPiAB              string
	Firmware           string // squashfs mounted as /lib/firmware
	Modules            string // squashfs mounted as /lib/modules/<release>
	InitrdConfig       string // parsed, unsupported upstream
	Addons             []string
}

// Boot names the boot method: "fit", "rpiab" or "linux".
func (b *BSP) Boot() string {
	switch {
	case b.FIT != "":
		return "fit"
	case b.RPiAB != "":
		return "rpiab"
	}
	return "linux"
}

// DriverSection is one section of bsp/drivers.json ("all" or the selected
// "fitconfig:<name>"), its aliases in file order.
type DriverSection struct {
	Name    string
	Aliases []DriverAlias
}

// DriverAlias maps an alias to the modprobe lines that load it.
type DriverAlias struct {
	Name    string
	Modules []string // "module [args]" with ${user-meta:K}/${device-meta:K} unexpanded
}

// parseBSP reads bsp/run.json and bsp/drivers.json when present.
func (s *State) parseBSP(opts Options) error {
	if v, ok := s.key("bsp/run.json"); ok {
		b, err := parseBSPRun(v, opts)
		if err != nil {
			return err
		}
		for _, a := range b.assets() {
			if !s.Has("bsp/" + a.path) {
				return errorf("bsp/run.json", "%s: bsp/%s is not in the state", a.field, a.path)
			}
		}
		s.BSP = b
	}
	if v, ok := s.key("bsp/drivers.json"); ok {
		d, err := parseDrivers(v, opts.FitConfig)
		if err != nil {
			return err
		}
		s.Drivers = d
	}
	return nil
}

func parseBSPRun(v rawjson.Value, opts Options) (*BSP, error) {
	const key = "bsp/run.json"
	f := newFields(key, "", v)
	b := &BSP{
		Linux: f.str("linux"), Initrd: f.str("initrd"), FDT: f.str("fdt"), FIT: f.str("fit"),
		RPiAB: f.str("rpiab"), Firmware: f.str("firmware"), Modules: f.str("modules"),
		InitrdConfig: f.str("initrd_config"), Addons: f.strs("addons"),
	}
	if opts.KernelRelease != "" {
		if m := f.str("modules_" + opts.KernelRelease); m != "" {
			b.Modules = m
		}
	}
	if f.err != nil {
		return nil, f.err
	}
	if b.FIT == "" && b.RPiAB == "" && (b.Linux == "" || b.Initrd == "") {
		return nil, errorf(key, "no boot assets: want linux and initrd, or fit, or rpiab")
	}
	for _, a := range b.assets() {
		if err := CheckPath(a.path); err != nil {
			return nil, errorf(key, "%s: %v", a.field, err)
		}
	}
	return b, nil
}

type asset struct{ field, path string }

// assets lists the non-empty asset paths the boot method uses.
func (b *BSP) assets() []asset {
	var out []asset
	add := func(field, path string) {
		if path != "" {
			out = append(out, asset{field, path})
		}
	}
	switch b.Boot() {
	case "fit":
		add("fit", b.FIT)
	case "rpiab":
		add("rpiab", b.RPiAB)
	default:
		add("linux", b.Linux)
		add("initrd", b.Initrd)
		add("fdt", b.FDT)
	}
	add("firmware", b.Firmware)
	add("modules", b.Modules)
	for i, a := range b.Addons {
		add(printf.Sprintf("addons[%d]", i), a)
	}
	return out
}

// parseDrivers reads bsp/drivers.json. Only "all" and
// "fitconfig:<fitConfig>" are honoured (upstream code; the docs'
// "dtb:"/"ovl:" sections are ignored).
func parseDrivers(v rawjson.Value, fitConfig string) ([]DriverSection, error) {
	const key = "bsp/drivers.json"
	var out []DriverSection
	for _, m := range v.Members {
		use := m.Key == "all" || (fitConfig != "" && m.Key == "fitconfig:"+fitConfig)
		if !use {
			continue
		}
		if m.Value.Kind != rawjson.Object {
			return nil, errorf(key, "%s: want an object, got %s", m.Key, m.Value.Kind)
		}
		sec := DriverSection{Name: m.Key}
		f := newFields(key, m.Key+".", m.Value)
		for _, a := range m.Value.Members {
			sec.Aliases = append(sec.Aliases, DriverAlias{Name: a.Key, Modules: f.strs(a.Key)})
		}
		if f.err != nil {
			return nil, f.err
		}
		out = append(out, sec)
	}
	return out, nil
}

// Alias returns the modprobe lines of a driver alias from the first
// section that defines it.
func (s *State) Alias(name string) ([]string, bool) {
	for _, sec := range s.Drivers {
		for _, a := range sec.Aliases {
			if a.Name == name {
				return a.Modules, true
			}
		}
	}
	return nil, false
}
