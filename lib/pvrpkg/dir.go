package pvrpkg

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// Layout is how a directory holds a state and its objects.
type Layout uint8

// The directory layouts ReadDir recognises.
const (
	// LayoutPackage is an unpacked package: "json" and "objects/<sha256>".
	LayoutPackage Layout = iota + 1
	// LayoutTrail is a pvr checkout or a device trail: ".pvr/json", and
	// each object as a file named by its state key (a hard link into the
	// objects directory on a device).
	LayoutTrail
)

func (l Layout) String() string {
	switch l {
	case LayoutPackage:
		return "package"
	case LayoutTrail:
		return "trail"
	}
	return printf.Sprintf("layout(%d)", int(l))
}

// Trail file names, relative to the trail directory.
const (
	TrailStateFile  = ".pvr/json"
	TrailConfigFile = ".pvr/config"
)

// maxConfigSize bounds .pvr/config, a one-line JSON on devices.
const maxConfigSize = 1 << 20

// ErrBadObject is wrapped when an object's name or sha256 cannot name a file.
var ErrBadObject error = &sentinel.Error{Text: "invalid object"}

var errConfigTooLarge error = &sentinel.Error{Text: "pvr config too large"}

// Dir is a package or trail directory found by ReadDir. ObjectsDir is the
// "ObjectsDir" of a trail's .pvr/config, made absolute against Path when
// relative; "" when there is none. A trail object missing from the trail
// is looked up there by sha256, as the device re-links it at boot.
type Dir struct {
	Path       string
	Layout     Layout
	ObjectsDir string
}

// ReadDir recognises dir: "json" (a package; "objects/" may be absent
// when it has no objects) is tried first, as pvtx does, then ".pvr/json"
// (a trail, whose .pvr/config is read when present). Neither is an error
// wrapping ErrNoState.
func ReadDir(dir string) (Dir, error) {
	d := Dir{Path: dir}
	switch {
	case isRegular(filepath.Join(dir, StateFile)):
		d.Layout = LayoutPackage
	case isRegular(filepath.Join(dir, TrailStateFile)):
		d.Layout = LayoutTrail
		od, err := readObjectsDir(filepath.Join(dir, TrailConfigFile))
		if err != nil {
			return Dir{}, err
		}
		if od != "" && !filepath.IsAbs(od) {
			od = filepath.Join(dir, od)
		}
		d.ObjectsDir = od
	default:
		return Dir{}, printf.Errorf("reading package directory %s: %w (want %s or %s)", dir, ErrNoState, StateFile, TrailStateFile)
	}
	return d, nil
}

func isRegular(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// readObjectsDir returns "ObjectsDir" of a .pvr/config; "" when the file
// or the member is absent.
func readObjectsDir(name string) (string, error) {
	data, err := readLimited(name, maxConfigSize, errConfigTooLarge)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	v, err := rawjson.Parse(data)
	if err != nil {
		return "", printf.Errorf("reading %s: %w", name, err)
	}
	od, ok := v.Get("ObjectsDir")
	switch {
	case !ok || od.Kind == rawjson.Null:
		return "", nil
	case od.Kind != rawjson.String:
		return "", printf.Errorf("reading %s: ObjectsDir: want a string, got %s", name, od.Kind)
	}
	return od.Str, nil
}

// readLimited reads a whole file of at most limit bytes; a larger file
// is an error wrapping tooLarge.
func readLimited(name string, limit int64, tooLarge error) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, printf.Errorf("reading %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, printf.Errorf("reading %s: %w: more than %d bytes", name, tooLarge, limit)
	}
	return data, nil
}

// StatePath is the state file of d.
func (d Dir) StatePath() string {
	if d.Layout == LayoutTrail {
		return filepath.Join(d.Path, TrailStateFile)
	}
	return filepath.Join(d.Path, StateFile)
}

// State reads the state file of d, at most MaxStateSize bytes (else an
// error wrapping ErrTooLarge).
func (d Dir) State() ([]byte, error) {
	return readLimited(d.StatePath(), MaxStateSize, ErrTooLarge)
}

// Stat returns the file information of object o: in a package the file
// objects/<sha>, in a trail the file named by its state key, else
// <ObjectsDir>/<sha>. Symlinks are followed (os.Root would confine them
// to the directory but costs 24 KB of binary; consumers verify the sha256
// of what they read). A missing object gives an error wrapping
// fs.ErrNotExist.
func (d Dir) Stat(o state.Object) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := d.locate(o, func(name string) error {
		var err error
		fi, err = os.Stat(name)
		return err
	})
	return fi, err
}

// Open opens object o for reading, found as Stat finds it. Only regular
// files are opened (ErrNotRegular otherwise), so a fifo cannot block.
// The caller closes the file.
func (d Dir) Open(o state.Object) (*os.File, error) {
	var f *os.File
	err := d.locate(o, func(name string) error {
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return ErrNotRegular
		}
		f, err = os.Open(name)
		return err
	})
	return f, err
}

// Has reports whether object o is present as a regular file. Missing is
// (false, nil); any other failure, or a non-regular file, is an error.
func (d Dir) Has(o state.Object) (bool, error) {
	fi, err := d.Stat(o)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !fi.Mode().IsRegular():
		return false, printf.Errorf("object %s: %w", o.Name, ErrNotRegular)
	}
	return true, nil
}

// locate calls try with each path where object o may be, in order, until
// one does not fail with fs.ErrNotExist. Steps: check the object's name
// and sha, then try the layout's places.
func (d Dir) locate(o state.Object, try func(name string) error) error {
	if err := state.CheckPath(o.Name); err != nil {
		return printf.Errorf("object %q: %w: %v", o.Name, ErrBadObject, err)
	}
	if !state.IsSHA256(o.SHA) {
		return printf.Errorf("object %s: %w: sha256 %q", o.Name, ErrBadObject, o.SHA)
	}
	if d.Layout != LayoutTrail {
		return wrapObject(o, try(filepath.Join(d.Path, ObjectsPrefix+o.SHA)))
	}
	err := try(filepath.Join(d.Path, o.Name))
	if errors.Is(err, fs.ErrNotExist) && d.ObjectsDir != "" {
		err = try(filepath.Join(d.ObjectsDir, o.SHA))
	}
	return wrapObject(o, err)
}

func wrapObject(o state.Object, err error) error {
	if err != nil {
		return printf.Errorf("object %s (%s): %w", o.Name, o.SHA, err)
	}
	return nil
}
