// Package pvrpkg reads pvr packages: the tarball `pvr export` writes (a
// "json" file holding the state and one "objects/<sha256>" file per object),
// the same files unpacked in a directory, and pvr trail checkouts.
package pvrpkg

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// StateFile is the name of the state JSON in a package.
const StateFile = "json"

// ObjectsPrefix starts the name of every object file in a package; the
// rest of the name is the object's sha256 in lowercase hex.
const ObjectsPrefix = "objects/"

// MaxStateSize bounds the state JSON of a package, as state.Read does.
const MaxStateSize = state.MaxSize

// maxTrailing bounds what Walk reads after the end of the tar archive to
// reach the end of the gzip stream (GNU tar pads to 10 KiB records).
const maxTrailing = 1 << 20

// Errors wrapped by Walk, Scan and Dir; test them with errors.Is.
var (
	ErrUnsafeName error = &sentinel.Error{Text: "unsafe name"}
	ErrNotRegular error = &sentinel.Error{Text: "not a regular file"}
	ErrUnexpected error = &sentinel.Error{Text: "unexpected file"}
	ErrDuplicate  error = &sentinel.Error{Text: "duplicate entry"}
	ErrTooLarge   error = &sentinel.Error{Text: "state json too large"}
	ErrNoState    error = &sentinel.Error{Text: "no state json"}
)

// Entry is one file of a package. Name is cleaned (no leading "./"); SHA
// is set for object files and empty for the state file.
type Entry struct {
	Name string
	Size int64
	SHA  string
}

// IsPackage reports whether head, the first bytes of a file (512 are
// enough), starts a gzip stream or a tar archive.
func IsPackage(head []byte) bool {
	return isGzip(head) || (len(head) >= 262 && string(head[257:262]) == "ustar")
}

func isGzip(head []byte) bool {
	return len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b
}

// Walk reads a package from r, gzip-compressed (detected by its magic
// bytes) or a plain tar, and calls fn for the state file and each object
// file in archive order; body reads that file's bytes and is valid only
// during the call. Directories and pax global headers are skipped. Walk
// fails on any other entry type, on unsafe or duplicate names, on files
// other than StateFile and ObjectsPrefix+<sha256>, on a state larger than
// MaxStateSize, on a corrupt or truncated stream, and when fn fails (that
// error is wrapped). Every error starts with "reading package: ".
func Walk(r io.Reader, fn func(e Entry, body io.Reader) error) error {
	if err := walk(r, fn); err != nil {
		return printf.Errorf("reading package: %w", err)
	}
	return nil
}

func walk(r io.Reader, fn func(e Entry, body io.Reader) error) error {
	br := bufio.NewReader(r)
	head, _ := br.Peek(2)
	var src io.Reader = br
	var zr *gzip.Reader
	if isGzip(head) {
		var err error
		if zr, err = gzip.NewReader(br); err != nil {
			return err
		}
		src = zr
	}
	if err := walkTar(newTarReader(src), fn); err != nil {
		return err
	}
	if zr != nil {
		return drain(zr)
	}
	return nil
}

// walkTar calls fn for every accepted entry of tr until the end of the
// archive.
func walkTar(tr *tarReader, fn func(e Entry, body io.Reader) error) error {
	seen := make(map[string]bool)
	for {
		hdr, err := tr.Next()
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
		e, ok, err := checkEntry(hdr)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if seen[e.Name] {
			return printf.Errorf("entry %q: %w", e.Name, ErrDuplicate)
		}
		seen[e.Name] = true
		if err := fn(e, tr); err != nil {
			return printf.Errorf("%s: %w", e.Name, err)
		}
	}
}

// checkEntry turns a tar header into an Entry. ok is false for entries
// that are skipped (directories, pax global headers).
func checkEntry(hdr *tarHeader) (e Entry, ok bool, err error) {
	name := hdr.Name
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	switch hdr.Typeflag {
	case typePaxGlobal:
		return Entry{}, false, nil
	case typeDir:
		name = strings.TrimRight(name, "/")
		if name == "" || name == "." {
			return Entry{}, false, nil
		}
	}
	if err := state.CheckPath(name); err != nil {
		return Entry{}, false, printf.Errorf("entry %q: %w: %v", hdr.Name, ErrUnsafeName, err)
	}
	switch hdr.Typeflag {
	case typeDir:
		return Entry{}, false, nil
	case typeReg:
	default:
		return Entry{}, false, printf.Errorf("entry %q: %w (%s)", name, ErrNotRegular, typeName(hdr.Typeflag))
	}
	e = Entry{Name: name, Size: hdr.Size}
	switch {
	case name == StateFile:
		if hdr.Size > MaxStateSize {
			return Entry{}, false, printf.Errorf("entry %q: %w: %d bytes, limit %d", name, ErrTooLarge, hdr.Size, MaxStateSize)
		}
	case strings.HasPrefix(name, ObjectsPrefix) && state.IsSHA256(name[len(ObjectsPrefix):]):
		e.SHA = name[len(ObjectsPrefix):]
	default:
		return Entry{}, false, printf.Errorf("%w %q in package", ErrUnexpected, name)
	}
	return e, true, nil
}

// typeName names a tar entry type for error messages.
func typeName(t byte) string {
	switch t {
	case typeSymlink:
		return "symlink"
	case typeLink:
		return "hard link"
	case typeChar:
		return "character device"
	case typeBlock:
		return "block device"
	case typeFifo:
		return "fifo"
	}
	return printf.Sprintf("type %q", t)
}

// drain reads the gzip stream to its end so its checksum and length are
// verified: the tar reader stops at the end-of-archive blocks, before the
// gzip trailer, and would miss a truncated or corrupt tail.
func drain(zr *gzip.Reader) error {
	n, err := io.Copy(io.Discard, io.LimitReader(zr, maxTrailing+1))
	switch {
	case err != nil:
		return err
	case n > maxTrailing:
		return printf.Errorf("more than %d bytes after the end of the tar archive", maxTrailing)
	}
	return nil
}

// Contents is what Scan keeps of a package: the state bytes and the size
// of every object, by sha256.
type Contents struct {
	State   []byte
	Objects map[string]int64
}

// Scan reads a package with Walk, keeping the state and discarding object
// bodies. A package without a state file is an error (ErrNoState).
func Scan(r io.Reader) (*Contents, error) {
	c := &Contents{Objects: make(map[string]int64)}
	found := false
	err := Walk(r, func(e Entry, body io.Reader) error {
		if e.SHA != "" {
			c.Objects[e.SHA] = e.Size
			return nil
		}
		var buf bytes.Buffer
		_, err := buf.ReadFrom(body)
		c.State, found = buf.Bytes(), true
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, printf.Errorf("reading package: %w", ErrNoState)
	}
	return c, nil
}

// Has reports whether the package holds the blob of object o.
func (c *Contents) Has(o state.Object) (bool, error) {
	_, ok := c.Objects[o.SHA]
	return ok, nil
}

// Missing returns the objects of objs (in their order) for which has
// reports false. It stops at the first error of has.
func Missing(objs []state.Object, has func(state.Object) (bool, error)) ([]state.Object, error) {
	var out []state.Object
	for _, o := range objs {
		ok, err := has(o)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, o)
		}
	}
	return out, nil
}
