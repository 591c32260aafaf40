package pantavisor

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"pantavisor/lib/container"
	"pantavisor/lib/lxcconf"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// maxLXCConfig bounds an LXC config (or a file it includes) read by validate.
const maxLXCConfig = 1 << 20

// lxcWarnings parses each container's LXC config as the launcher does and
// returns its warnings, "FILE:LINE: KEY: REASON" with FILE the state key:
// keys the parser ignores or keeps raw, legacy keys, and settings the
// launcher does not apply (container.NotApplied). lxc.include and
// lxc.mount.fstab resolve to other objects of the state (an absolute
// path names none). A config whose object is missing is skipped (the
// summary lists it); one that does not parse gives its error (which
// names the file and line). cfgs holds each parsed config by container
// name, for the network check.
func lxcWarnings(st *state.State, read func(state.Object) ([]byte, error)) (out []string, cfgs map[string]*lxcconf.Config) {
	fsys := objectFS{objs: make(map[string]state.Object, len(st.Objects)), read: read}
	for _, o := range st.Objects {
		fsys.objs[o.Name] = o
	}
	cfgs = map[string]*lxcconf.Config{}
	for _, c := range st.Containers {
		if c.Config == "" {
			continue
		}
		name := path.Join(c.Dir, c.Config)
		o, ok := fsys.objs[name]
		if !ok {
			continue
		}
		data, err := read(o)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				out = append(out, name+": "+err.Error())
			}
			continue
		}
		cfg, warns, err := lxcconf.Options{FS: fsys, NotApplied: container.NotApplied}.Parse(bytes.NewReader(data), name)
		for _, w := range warns {
			out = append(out, w.Error())
		}
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		cfgs[c.Name] = cfg
	}
	return out, cfgs
}

// objectFS opens the state's objects by key name, read whole.
type objectFS struct {
	objs map[string]state.Object
	read func(state.Object) ([]byte, error)
}

// Open returns the object named name; fs.ErrNotExist when the state has no
// such key or its blob is missing.
func (f objectFS) Open(name string) (fs.File, error) {
	o, ok := f.objs[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	data, err := f.read(o)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &objectFile{r: bytes.NewReader(data), name: path.Base(name), size: int64(len(data))}, nil
}

// objectFile is an object's bytes as an fs.File and its own FileInfo (a
// named reader, not an embedded one: every promoted method would be kept
// in the binary).
type objectFile struct {
	r    *bytes.Reader
	name string
	size int64
}

func (f *objectFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *objectFile) Size() int64                { return f.size }
func (f *objectFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *objectFile) Close() error               { return nil }
func (f *objectFile) Name() string               { return f.name }
func (f *objectFile) Mode() fs.FileMode          { return 0o444 }
func (f *objectFile) ModTime() time.Time         { return time.Time{} }
func (f *objectFile) IsDir() bool                { return false }
func (f *objectFile) Sys() any                   { return nil }

// readLimited reads r whole, refusing more than maxLXCConfig bytes.
func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxLXCConfig+1))
	if err == nil && len(data) > maxLXCConfig {
		err = printf.Errorf("larger than %d bytes", maxLXCConfig)
	}
	return data, err
}

// dirReader reads objects of an unpacked package or trail.
func dirReader(d pvrpkg.Dir) func(state.Object) ([]byte, error) {
	return func(o state.Object) ([]byte, error) {
		f, err := d.Open(o)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readLimited(f)
	}
}

// errFound stops a package walk once the wanted object is read.
var errFound error = &sentinel.Error{Text: "found"}

// packageReader reads objects of the package file at name, one walk each
// (validate reads a few small configs; the walk stops at the object).
func packageReader(name string) func(state.Object) ([]byte, error) {
	return func(o state.Object) ([]byte, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, withoutPath(err)
		}
		defer f.Close()
		var data []byte
		err = pvrpkg.Walk(f, func(e pvrpkg.Entry, body io.Reader) error {
			if e.SHA != o.SHA {
				return nil
			}
			var rerr error
			if data, rerr = readLimited(body); rerr != nil {
				return rerr
			}
			return errFound
		})
		switch {
		case errors.Is(err, errFound):
			return data, nil
		case err == nil:
			return nil, fs.ErrNotExist
		}
		return nil, err
	}
}
