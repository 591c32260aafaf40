package storage

import (
	"path/filepath"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// Prepare completes the trail of a revision whose objects are already
// stored (a local step holds only .pvr/json and .pv/), as upstream's
// pv_state_prepare_run: .pvr/config, a hard link (a copy for ".bind") per
// object, every inline json as a file, the boot assets in .pv/. Every
// step is idempotent, so a crash part way leaves a trail that a second
// Prepare completes; the result is checked by VerifyState, not here.
// Errors: ErrNoRevision, ErrMissingObject (naming the first missing one).
func (s *Storage) Prepare(rev string, st *state.State) error {
	if err := CheckRevision(rev); err != nil {
		return err
	}
	if !s.HasRevision(rev) {
		return printf.Errorf("preparing %w: %s", ErrNoRevision, rev)
	}
	if miss := s.MissingObjects(st); len(miss) > 0 {
		return printf.Errorf("preparing %s: %w: %s (%s)", rev, ErrMissingObject, miss[0].Name, miss[0].SHA)
	}
	if err := s.fillLinks(s.TrailPath(rev), st); err != nil {
		return printf.Errorf("preparing %s: %w", rev, noSpace(err))
	}
	return nil
}

// fillLinks writes everything of a trail but .pvr/json into dir.
func (s *Storage) fillLinks(dir string, st *state.State) error {
	if err := s.W.MkdirAll(filepath.Join(dir, ".pvr"), 0o755); err != nil {
		return err
	}
	cfg := `{"ObjectsDir": ` + rawjson.Quote(filepath.Join(s.DevicePath, "objects")) + `}`
	if err := s.W.WriteFile(filepath.Join(dir, ".pvr", "config"), []byte(cfg), 0o644); err != nil {
		return err
	}
	for _, o := range st.Objects {
		if err := s.placeObject(dir, o); err != nil {
			return err
		}
	}
	for _, j := range st.JSONs {
		p := filepath.Join(dir, j.Name)
		if err := s.W.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := s.W.WriteFile(p, j.Raw, 0o644); err != nil {
			return err
		}
	}
	return s.linkBootAssets(dir, st)
}
