package pvtx

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	"pantavisor/lib/digest"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvrpkg"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// ErrBadObject is wrapped when an object's content does not hash to its
// name; such an object is not stored.
var ErrBadObject error = &sentinel.Error{Text: "object content does not match its sha256 name"}

// ErrNoJSON is wrapped when a package holds no "json" file.
var ErrNoJSON error = &sentinel.Error{Text: "package has no json"}

// source is an opened input of add or queue unpack: a package (tar or
// gzip tar) to walk, or a state JSON.
type source struct {
	r   *bufio.Reader
	pkg bool
}

// sniff recognises a package by its magic bytes, as upstream does; any
// other content is a state JSON.
func sniff(r io.Reader) source {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(512)
	return source{r: br, pkg: pvrpkg.IsPackage(head) || isBzip2(head)}
}

func isBzip2(head []byte) bool { return bytes.HasPrefix(head, []byte("BZh")) }

// readJSON reads a state JSON source (at most state.MaxSize bytes).
func (src source) readJSON() ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(src.r, state.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > state.MaxSize {
		return nil, printf.Errorf("state json larger than %d bytes", state.MaxSize)
	}
	return data, nil
}

// ErrBzip2 is returned for a bzip2 package.
var ErrBzip2 error = &sentinel.Error{Text: "bzip2 packages are not supported: recompress the tar with gzip (pvr export does)"}

// walk reads a package source, calls obj for each object file and returns
// the state JSON. Unsafe, unexpected or duplicate names fail (see
// pvrpkg.Walk).
//
// Deviations: upstream skips files other than "json" and "objects/*";
// pvrpkg refuses them, so a package with stray files is reported, not half
// used. Upstream also reads bzip2 tars; its decoder would cost 45 KB of
// every device binary for a format pvr never writes, so a bzip2 package
// is recognised and refused with ErrBzip2 (never read as a state JSON).
func (src source) walk(obj func(sha string, size int64, body io.Reader) error) ([]byte, error) {
	if head, _ := src.r.Peek(3); isBzip2(head) {
		return nil, ErrBzip2
	}
	var js []byte
	err := pvrpkg.Walk(src.r, func(e pvrpkg.Entry, body io.Reader) error {
		if e.SHA != "" {
			return obj(e.SHA, e.Size, body)
		}
		var err error
		js, err = io.ReadAll(body)
		return err
	})
	if err != nil {
		return nil, err
	}
	if js == nil {
		return nil, printf.Errorf("reading package: %w", ErrNoJSON)
	}
	return js, nil
}

// storeObject writes body to dir/sha unless a file there already hashes
// to sha. Steps: write a temporary file in dir while hashing, refuse and
// delete it when the hash is not sha (ErrBadObject), fsync, rename.
func storeObject(w *persist.Writer, dir, sha string, body io.Reader) error {
	path := filepath.Join(dir, sha)
	if ok, _ := objectOK(path, sha); ok {
		return nil
	}
	if err := w.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+sha+".tmp*")
	if err != nil {
		return printf.Errorf("storing object %s: %w", sha, err)
	}
	tmp := f.Name()
	h := digest.New()
	_, err = io.Copy(io.MultiWriter(f, h), body)
	if err == nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != sha {
			err = printf.Errorf("%w: %s hashes to %s", ErrBadObject, sha, got)
		}
	}
	if err == nil {
		err = w.SyncClose(f)
	} else {
		f.Close()
	}
	if err == nil {
		err = w.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return printf.Errorf("storing object %s: %w", sha, err)
	}
	return nil
}

// objectOK reports whether the regular file path hashes to sha.
func objectOK(path, sha string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false, err
	}
	got, err := storage.HashFile(path)
	return got == sha, err
}
