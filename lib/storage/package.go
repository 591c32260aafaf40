package storage

import (
	"io"

	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/state"
)

// InstallPackage installs revision rev from a pvr package stream (tar or
// tar.gz with "json" and "objects/<sha>"). Objects are stored as they
// stream by, each verified against its name; then the trail is built from
// the package's state. On any error the objects this call added are
// removed and no revision appears.
func (s *Storage) InstallPackage(rev string, r io.Reader) (*state.State, error) {
	if err := CheckRevision(rev); err != nil {
		return nil, err
	}
	if s.HasRevision(rev) {
		return nil, printf.Errorf("%w: %s", ErrRevisionExist, rev)
	}
	var stateJSON []byte
	var added []string
	err := pvrpkg.Walk(r, func(e pvrpkg.Entry, body io.Reader) error {
		if e.SHA == "" {
			var err error
			stateJSON, err = io.ReadAll(body)
			return err
		}
		ok, err := s.InstallObject(e.SHA, e.Size, body)
		if ok {
			added = append(added, e.SHA)
		}
		return err
	})
	if err == nil && stateJSON == nil {
		err = printf.Errorf("reading package: %w", pvrpkg.ErrNoState)
	}
	var st *state.State
	if err == nil {
		st, err = s.Install(rev, stateJSON, nil)
	}
	if err != nil {
		s.removeObjects(added)
		return nil, err
	}
	return st, nil
}

// InstallDir installs revision rev from an unpacked package directory
// ("json" + "objects/") or another storage's trail (".pvr/json").
func (s *Storage) InstallDir(rev, dir string) (*state.State, error) {
	d, err := pvrpkg.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	stateJSON, err := d.State()
	if err != nil {
		return nil, err
	}
	return s.Install(rev, stateJSON, func(o state.Object) (io.ReadCloser, int64, error) {
		f, err := d.Open(o)
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, fi.Size(), nil
	})
}
