package storage

import (
	"os"
	"path/filepath"

	"pantavisor/lib/pvrpkg"
)

// FindTrail reports whether dir is the trail of a revision inside a
// storage: <root>/trails/<rev>, rev a valid revision name (a number or
// locals/<name>), and root a directory holding trails/ and objects/. It
// returns the storage root and the revision. dir is made absolute first;
// symlinks are not resolved.
func FindTrail(dir string) (root, rev string, ok bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	parent, name := filepath.Split(abs)
	parent = filepath.Clean(parent)
	if filepath.Base(parent) == "locals" {
		name = "locals/" + name
		parent = filepath.Dir(parent)
	}
	if filepath.Base(parent) != "trails" || CheckRevision(name) != nil {
		return "", "", false
	}
	root = filepath.Dir(parent)
	if !isDir(filepath.Join(root, "objects")) {
		return "", "", false
	}
	return root, name, true
}

func isDir(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.IsDir()
}

// ReadDir is pvrpkg.ReadDir that also knows a device's trails: a trail
// inside a storage (see FindTrail) whose .pvr/config names no ObjectsDir
// finds its objects in the storage's objects/, as the device does (an
// uploaded step has neither a .pvr/config nor links to its objects until
// it runs).
func ReadDir(dir string) (pvrpkg.Dir, error) {
	d, err := pvrpkg.ReadDir(dir)
	if err != nil || d.Layout != pvrpkg.LayoutTrail || d.ObjectsDir != "" {
		return d, err
	}
	if root, _, ok := FindTrail(dir); ok {
		d.ObjectsDir = filepath.Join(root, "objects")
	}
	return d, nil
}
