package disk

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"pantavisor/lib/state"
)

func TestModules(t *testing.T) {
	for _, c := range []struct {
		d    state.Disk
		want []string
	}{
		{state.Disk{Type: TypeVersatile}, []string{"dm_mod", "dm_crypt", "essiv"}},
		{state.Disk{Type: TypeSwap, Provision: ProvisionZram}, []string{"zram"}},
		{state.Disk{Type: TypeVolume, Provision: ProvisionZram}, []string{"zram"}},
		{state.Disk{Type: TypeSwap, Provision: ProvisionFile}, nil},
		{state.Disk{Type: TypeVolume}, nil},
		{state.Disk{Type: TypeDCP}, nil},
		{state.Disk{Type: "raid", Provision: ProvisionZram}, nil},
	} {
		if got := Modules(c.d); !slices.Equal(got, c.want) {
			t.Errorf("Modules(%s/%s) = %v, want %v", c.d.Type, c.d.Provision, got, c.want)
		}
	}
}

func TestLookup(t *testing.T) {
	s := &Set{Disks: []state.Disk{
		{Name: "swap", Type: TypeSwap},
		{Name: "secrets", Type: TypeVersatile, Aliases: []string{"sec", "s2"}},
		{Name: "main", Type: TypeVolume, Default: true},
	}}
	for ref, want := range map[string]string{"secrets": "secrets", "sec": "secrets", "s2": "secrets", "": "main", "main": "main"} {
		d, err := s.Lookup(ref)
		if err != nil || d == nil || d.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", ref, d, err, want)
		}
	}
	if _, err := s.Lookup("nosuch"); !errors.Is(err, ErrNoDisk) {
		t.Errorf("Lookup(nosuch) = %v, want ErrNoDisk", err)
	}
	s.Disks[2].Default = false
	if d, err := s.Lookup(""); d != nil || err != nil {
		t.Errorf("Lookup(\"\") without a default = %v, %v; want nil, nil", d, err)
	}
	if mnt, _, err := s.Mount(""); mnt != "" || err != nil {
		t.Errorf("Mount(\"\") without a default = %q, %v; want plain storage", mnt, err)
	}
	if _, _, err := s.Mount("swap"); !errors.Is(err, ErrBadDisk) {
		t.Errorf("Mount(swap) = %v, want ErrBadDisk", err)
	}
}

// TestSetRefusalNamesModules: a disk that cannot be set up fails Mount
// with the disk's reason and the modules that did not load; nothing is
// left to undo.
func TestSetRefusalNamesModules(t *testing.T) {
	var loaded []string
	s := &Set{
		Disks: []state.Disk{{Name: "dcp", Type: TypeDCP}, {Name: "v", Type: TypeVersatile, Path: "bad"}},
		Load: func(m string) error {
			loaded = append(loaded, m)
			return errors.New("no " + m)
		},
	}
	if _, _, err := s.Mount("dcp"); !errors.Is(err, ErrNoKeyHardware) {
		t.Errorf("Mount(dcp) = %v, want ErrNoKeyHardware", err)
	}
	_, _, err := s.Mount("v")
	if !errors.Is(err, ErrBadDisk) {
		t.Fatalf("Mount(v) = %v, want ErrBadDisk", err)
	}
	for _, m := range []string{"no dm_mod", "no dm_crypt", "no essiv"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("Mount(v) = %q, want it to name %q", err, m)
		}
	}
	if !slices.Equal(loaded, []string{"dm_mod", "dm_crypt", "essiv"}) {
		t.Errorf("loaded %v", loaded)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestSetUndoOrder: SwapOn keeps each swap's undo and Close runs them
// last first; a failed swap stops SwapOn.
func TestSetUndoOrder(t *testing.T) {
	s := &Set{Disks: []state.Disk{{Name: "a", Type: TypeVolume}, {Name: "s", Type: TypeSwap}}}
	if _, err := s.SwapOn(); !errors.Is(err, ErrBadDisk) { // no provision
		t.Fatalf("SwapOn = %v, want ErrBadDisk", err)
	}
	var order []string
	s.undo = []func() error{
		func() error { order = append(order, "first"); return nil },
		func() error { order = append(order, "second"); return errors.New("busy") },
	}
	s.mounted = map[string]string{"a": "/x"}
	if err := s.Close(); err == nil || err.Error() != "busy" {
		t.Errorf("Close = %v, want busy", err)
	}
	if !slices.Equal(order, []string{"second", "first"}) || s.mounted != nil || s.undo != nil {
		t.Errorf("undo order %v, mounted %v", order, s.mounted)
	}
}

func TestKeyHardware(t *testing.T) {
	for _, c := range []struct {
		in        string
		caam, dcp bool
		err       string
	}{
		{"", false, false, ""},
		{"caam\n", true, false, ""},
		{"dcp", false, true, ""},
		{"# board\ncaam\n  dcp  # both\n", true, true, ""},
		{"caam\ntpm\n", false, false, `line 2: unknown key hardware "tpm"`},
		{"CAAM", false, false, "unknown key hardware"},
	} {
		var o Options
		err := o.ReadKeyHardware(strings.NewReader(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ReadKeyHardware(%q) = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || o.HasCAAM != c.caam || o.HasDCP != c.dcp {
			t.Errorf("ReadKeyHardware(%q) = %+v, %v", c.in, o, err)
		}
	}
	var o Options
	if err := o.LoadKeyHardware(t.TempDir() + "/none"); err != nil || o.HasCAAM || o.HasDCP {
		t.Errorf("LoadKeyHardware(missing) = %+v, %v", o, err)
	}
}

// TestPlanMissingDisk: a volume naming a disk device.json lacks (the
// state parser refuses it; Plan still reports it) gets its own Usage.
func TestPlanMissingDisk(t *testing.T) {
	s := &state.State{Device: state.Device{
		Disks:   []state.Disk{{Name: "v", Type: TypeVersatile, Path: "/s/v.img,1,k"}},
		Volumes: []state.Volume{{Name: "a", Disk: "gone"}, {Name: "b", Disk: "v"}, {Name: "c", Disk: "gone"}, {Name: "d"}},
	}}
	got := Plan(s, Options{})
	if len(got) != 2 || got[0].Err != nil || !slices.Equal(got[0].Volumes, []string{"bsp/b"}) ||
		!errors.Is(got[1].Err, ErrNoDisk) || got[1].Disk.Name != "gone" || !slices.Equal(got[1].Volumes, []string{"bsp/a", "bsp/c"}) {
		t.Errorf("Plan = %+v", got)
	}
}

// TestPlanDual: a dual disk is checked with its sub-disks: each
// definition error refuses it with the reason; sub-disks the board
// refuses (NXP key hardware) refuse it only when no init_order step can
// work, and a step that cannot work is a warning.
func TestPlanDual(t *testing.T) {
	vers := func(name string) state.Disk {
		return state.Disk{Name: name, Type: TypeVersatile, Path: "/storage/c/" + name + ".img,2,k" + name}
	}
	caam := state.Disk{Name: "_nxp", Type: TypeCAAM, Mode: "nxp", Path: "-v2 /storage/c/nxp.img,2,key"}
	swapD := state.Disk{Name: "sw", Type: TypeSwap, Provision: "zram"}
	dual := func(subs []string, order ...string) state.Disk {
		return state.Disk{Name: "secrets", Type: TypeDual, Disks: subs, InitOrder: order}
	}
	for _, c := range []struct {
		name  string
		disks []state.Disk
		err   string // "" accepted
		warn  string // a warning that must be there
	}{
		{"migration", []state.Disk{vers("_ml"), vers("_old"), dual([]string{"_ml", "_old"}, StepCopyOnce, StepPrimary, StepCreatePrimary)}, "", ""},
		{"primary only", []state.Disk{vers("_ml"), dual([]string{"_ml"}, StepPrimary, StepCreatePrimary)}, "", ""},
		{"no sub-disks", []state.Disk{dual(nil, StepPrimary)}, "needs \"disks\"", ""},
		{"three sub-disks", []state.Disk{vers("a"), vers("b"), vers("c"), dual([]string{"a", "b", "c"}, StepPrimary)}, "needs \"disks\"", ""},
		{"undefined sub-disk", []state.Disk{dual([]string{"_ml", "_gone"}, StepPrimary)}, `sub-disk "_ml" is not defined`, ""},
		{"swap sub-disk", []state.Disk{swapD, dual([]string{"sw"}, StepPrimary)}, `sub-disk "sw" is a swap-disk`, ""},
		{"no init_order", []state.Disk{vers("_ml"), dual([]string{"_ml"})}, "needs an init_order", ""},
		{"unknown step", []state.Disk{vers("_ml"), dual([]string{"_ml"}, "mirror")}, `init_order step "mirror"`, ""},
		{"secondary step without one", []state.Disk{vers("_ml"), dual([]string{"_ml"}, StepCopyOnce)}, "needs a secondary disk", ""},
		{"every step needs NXP keys", []state.Disk{caam, vers("_ml"), dual([]string{"_nxp", "_ml"}, StepPrimary, StepCopyOnce)},
			`no init_order step can work: disk "_nxp": dm-crypt-caam needs NXP CAAM key hardware`, ""},
		{"a step without NXP keys", []state.Disk{vers("_ml"), caam, dual([]string{"_ml", "_nxp"}, StepCopyOnce, StepCreatePrimary)},
			"", `init_order step "copy-once-to-primary" cannot work: disk "_nxp": dm-crypt-caam needs NXP CAAM key hardware`},
	} {
		got := Plan(&state.State{Device: state.Device{Disks: c.disks}}, Options{})
		u := got[len(c.disks)-1]
		if u.Disk.Type != TypeDual {
			t.Fatalf("%s: Plan's last is %+v", c.name, u.Disk)
		}
		switch {
		case c.err == "" && u.Err != nil:
			t.Errorf("%s: refused: %v", c.name, u.Err)
		case c.err != "" && (u.Err == nil || !strings.Contains(u.Err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.name, u.Err, c.err)
		case c.err != "" && !strings.HasPrefix(u.Err.Error(), `disk "secrets": `):
			t.Errorf("%s: error %q does not name the disk", c.name, u.Err)
		}
		if c.warn != "" && !slices.ContainsFunc(u.Warnings, func(w string) bool { return strings.Contains(w, c.warn) }) {
			t.Errorf("%s: warnings %q, want one containing %q", c.name, u.Warnings, c.warn)
		}
	}
}
