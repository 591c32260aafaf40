package storage

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// Opener opens the content of one object of a state being installed and
// returns its size (-1 when unknown). It is called only for objects the
// storage does not hold yet.
type Opener func(o state.Object) (io.ReadCloser, int64, error)

// Install adds revision rev from a raw state and an object source (nil
// when every object is already stored). Steps: validate the name and the
// state, store the missing objects (each verified), build the trail in a
// staging directory (.pvr/json, .pvr/config, object links, inline jsons,
// boot assets in .pv/), then rename it into place. A crash or an error at
// any step leaves either no revision or the complete one; on error the
// objects this call added are removed again.
func (s *Storage) Install(rev string, stateJSON []byte, open Opener) (*state.State, error) {
	st, err := s.checkInstall(rev, stateJSON)
	if err != nil {
		return nil, err
	}
	added, err := s.installObjects(st, open)
	if err == nil {
		err = s.buildTrail(rev, stateJSON, st)
	}
	if err != nil {
		s.removeObjects(added)
		return nil, printf.Errorf("installing revision %s: %w", rev, err)
	}
	return st, nil
}

// checkInstall validates the revision name and parses the state.
func (s *Storage) checkInstall(rev string, stateJSON []byte) (*state.State, error) {
	if err := CheckRevision(rev); err != nil {
		return nil, err
	}
	if s.HasRevision(rev) {
		return nil, printf.Errorf("%w: %s", ErrRevisionExist, rev)
	}
	st, err := state.Parse(stateJSON, state.Options{})
	if err != nil {
		return nil, printf.Errorf("installing revision %s: %w", rev, err)
	}
	return st, nil
}

// installObjects stores every object of st not yet stored, from open.
func (s *Storage) installObjects(st *state.State, open Opener) (added []string, err error) {
	done := map[string]bool{}
	for _, o := range st.Objects {
		if done[o.SHA] || s.HasObject(o.SHA) {
			continue
		}
		done[o.SHA] = true
		if open == nil {
			return added, printf.Errorf("%w: %s (%s)", ErrMissingObject, o.Name, o.SHA)
		}
		rc, size, err := open(o)
		if err != nil {
			return added, printf.Errorf("%w: %s (%s): %v", ErrMissingObject, o.Name, o.SHA, err)
		}
		ok, err := s.InstallObject(o.SHA, size, rc)
		rc.Close()
		if err != nil {
			return added, printf.Errorf("object %s: %w", o.Name, err)
		}
		if ok {
			added = append(added, o.SHA)
		}
	}
	return added, nil
}

// MissingObjects lists the objects of st that the storage does not hold.
func (s *Storage) MissingObjects(st *state.State) []state.Object {
	var out []state.Object
	for _, o := range st.Objects {
		if !s.HasObject(o.SHA) {
			out = append(out, o)
		}
	}
	return out
}

// removeObjects deletes objects a failed install added, unless a trail
// links them (another revision uses the same content).
func (s *Storage) removeObjects(shas []string) {
	for _, sha := range shas {
		if fi, err := os.Stat(s.ObjectPath(sha)); err == nil && linkCount(fi) == 1 {
			os.Remove(s.ObjectPath(sha))
		}
	}
}

// buildTrail writes the trail of rev in a staging directory and renames it
// into place; the rename is the commit point.
func (s *Storage) buildTrail(rev string, stateJSON []byte, st *state.State) error {
	final := s.TrailPath(rev)
	stage := s.stagingPath(rev)
	if err := os.RemoveAll(stage); err != nil {
		return err
	}
	err := s.fillTrail(stage, stateJSON, st)
	if err == nil {
		err = s.W.Rename(stage, final)
	}
	if err != nil {
		os.RemoveAll(stage)
	}
	return err
}

func (s *Storage) fillTrail(dir string, stateJSON []byte, st *state.State) error {
	if err := s.W.MkdirAll(filepath.Join(dir, ".pvr"), 0o755); err != nil {
		return err
	}
	if err := s.W.WriteFile(filepath.Join(dir, ".pvr", "json"), stateJSON, 0o644); err != nil {
		return err
	}
	return s.fillLinks(dir, st)
}

// placeObject hard-links an object into the trail; ".bind" objects are
// copied instead (as upstream: they are bind-mounted writable).
func (s *Storage) placeObject(dir string, o state.Object) error {
	p := filepath.Join(dir, o.Name)
	if err := s.W.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if strings.HasSuffix(o.Name, ".bind") {
		data, err := os.ReadFile(s.ObjectPath(o.SHA))
		if err != nil {
			return err
		}
		return s.W.WriteFile(p, data, 0o644)
	}
	if err := s.W.Link(s.ObjectPath(o.SHA), p); err != nil && !errors.Is(err, os.ErrExist) {
		return printf.Errorf("linking object %s: %w", o.Name, err)
	}
	return nil
}

// BootAssets maps the file names upstream's bootloaders load from
// trails/<rev>/.pv/ to the state keys they come from.
func BootAssets(b *state.BSP) [][2]string {
	if b == nil {
		return nil
	}
	var out [][2]string
	add := func(name, file string) {
		if file != "" {
			out = append(out, [2]string{name, "bsp/" + file})
		}
	}
	for i, a := range b.Addons {
		add("pv-initrd.img."+strconv.Itoa(i), a)
	}
	switch b.Boot() {
	case "fit":
		add("pantavisor.fit", b.FIT)
	case "rpiab":
		name := "rpiboot.img"
		if strings.HasSuffix(b.RPiAB, ".gz") {
			name += ".gz"
		}
		add(name, b.RPiAB)
	default:
		add("pv-initrd.img", b.Initrd)
		add("pv-kernel.img", b.Linux)
		add("pv-fdt.dtb", b.FDT)
	}
	return out
}

func (s *Storage) linkBootAssets(dir string, st *state.State) error {
	assets := BootAssets(st.BSP)
	if len(assets) == 0 {
		return nil
	}
	if err := s.W.MkdirAll(filepath.Join(dir, ".pv"), 0o755); err != nil {
		return err
	}
	for _, a := range assets {
		if err := s.W.Link(filepath.Join(dir, a[1]), filepath.Join(dir, ".pv", a[0])); err != nil && !errors.Is(err, os.ErrExist) {
			return printf.Errorf("linking boot asset %s: %w", a[0], err)
		}
	}
	return nil
}
