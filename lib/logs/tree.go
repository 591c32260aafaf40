package logs

import (
	"os"
	"path/filepath"
)

// maxOpen bounds the log files kept open; past it all are closed.
const maxOpen = 64

// tree appends to files under the log dir and keeps the dir within its
// budget (see rotation). It is guarded by Server.mu: every write to every
// log file goes through one tree, one at a time.
type tree struct {
	root  string // the log dir (PV_LOG_DIR)
	files map[string]*logFile
	rot   rotation
}

// logFile is an open log file and its size.
type logFile struct {
	f    *os.File
	size int64
}

// write appends b to the file at path (relative to root), creating it and
// its directories, then rotates the file when it reached the rotate size
// and trims the dir when it passed the high watermark.
func (t *tree) write(rel string, b []byte) error {
	path := filepath.Join(t.root, rel)
	lf, err := t.open(path)
	if err != nil {
		return err
	}
	n, err := lf.f.Write(b)
	lf.size += int64(n)
	t.rot.cur += int64(n)
	if err != nil {
		t.close(path)
		return err
	}
	if t.rot.size > 0 && lf.size >= t.rot.size {
		if err := t.rotate(path); err != nil {
			return err
		}
	}
	return t.enforce()
}

func (t *tree) open(path string) (*logFile, error) {
	if lf := t.files[path]; lf != nil {
		return lf, nil
	}
	if t.files == nil {
		t.files = make(map[string]*logFile)
	}
	if len(t.files) >= maxOpen {
		t.closeAll()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	lf := &logFile{f: f, size: fi.Size()}
	t.files[path] = lf
	return lf, nil
}

func (t *tree) close(path string) {
	if lf := t.files[path]; lf != nil {
		lf.f.Close()
		delete(t.files, path)
	}
}

func (t *tree) closeAll() {
	for p := range t.files {
		t.close(p)
	}
}
