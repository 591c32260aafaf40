package hub

import (
	"bufio"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pantavisor/lib/hub/proto"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// treeFile is one log file of the tree: <dir>/<rev>/<plat>/<src...>.
type treeFile struct {
	rel   string // rev/plat/src..., slash-separated
	rev   string
	plat  string
	src   string // "/" + the path below the platform's dir, as upstream's src
	ino   uint64
	size  int64
	mtime time.Time
}

// scanTree lists the log files under dir in lexical order: regular files
// at least three levels deep (<rev>/<plat>/<file>), skipping names that
// contain ".gz" (upstream's find ! -name '*.gz*': rotated files) and
// symlinks (logs/current points at a revision's dir). Files directly in a
// revision's dir (the singlefile output's pv.log) have no platform and
// are skipped. A missing dir is an error wrapping fs.ErrNotExist.
// complete is false when a part of the tree could not be read (a
// directory removed or moved during the walk).
func scanTree(dir string) (files []treeFile, complete bool, err error) {
	complete = true
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			complete = false
			return nil // a dir removed under us (revision GC)
		}
		if !d.Type().IsRegular() || strings.Contains(d.Name(), ".gz") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		parts := strings.SplitN(rel, "/", 3)
		if len(parts) < 3 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			complete = false
			return nil
		}
		files = append(files, treeFile{rel: rel, rev: parts[0], plat: parts[1], src: "/" + parts[2],
			ino: inode(fi), size: fi.Size(), mtime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, false, printf.Errorf("listing log tree %s: %w", dir, err)
	}
	return files, complete, nil
}

// inode returns fi's inode number (0 when the platform has none).
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// headMax is how many bytes at the start of a file identify it beside its
// inode (an inode number is reused once a rotated file is removed).
const headMax = 64

// position is how far one log file has been pushed: the file (its inode
// and the hash of its first headLen bytes) and the offset after the last
// line the hub accepted.
type position struct {
	rel     string
	ino     uint64
	off     int64
	headLen int
	head    uint64
}

// headHash is the FNV-1a hash of b.
func headHash(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b) // a hash.Hash never fails
	return h.Sum64()
}

// posName is the name of rel's position file: FNV-1a of rel in hex (a
// flat directory whatever the depth or the names of the sources).
func posName(rel string) string {
	return strconv.FormatUint(headHash([]byte(rel)), 16) + ".pos"
}

// encode is the position file's text: "<ino> <off> <headLen> <head>\n<rel>\n".
func (p position) encode() []byte {
	b := strconv.AppendUint(nil, p.ino, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.off, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(p.headLen), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, p.head, 16)
	b = append(b, '\n')
	b = append(b, p.rel...)
	return append(b, '\n')
}

// errBadPosition is a position file that does not parse.
var errBadPosition error = &sentinel.Error{Text: "bad log position file"}

// parsePosition reads a position file's text (see encode).
func parsePosition(data []byte) (position, error) {
	first, rest, ok := strings.Cut(string(data), "\n")
	rel, _, ok2 := strings.Cut(rest, "\n")
	f := strings.Fields(first)
	if !ok || !ok2 || rel == "" || len(f) != 4 {
		return position{}, errBadPosition
	}
	ino, e1 := strconv.ParseUint(f[0], 10, 64)
	off, e2 := strconv.ParseInt(f[1], 10, 64)
	hl, e3 := strconv.Atoi(f[2])
	head, e4 := strconv.ParseUint(f[3], 16, 64)
	if errors.Join(e1, e2, e3, e4) != nil || off < 0 || hl < 0 || hl > headMax {
		return position{}, errBadPosition
	}
	return position{rel: rel, ino: ino, off: off, headLen: hl, head: head}, nil
}

// positions are the position files of a directory, by rel.
type positions struct {
	dir string
	w   *persist.Writer
	m   map[string]position
}

// load reads every position file of the dir (creating the dir); a file
// that does not parse is ignored (its log is pushed again from its start).
func (ps *positions) load() error {
	ps.m = map[string]position{}
	if err := os.MkdirAll(ps.dir, 0o755); err != nil {
		return printf.Errorf("creating log position dir: %w", err)
	}
	ents, err := os.ReadDir(ps.dir)
	if err != nil {
		return printf.Errorf("reading log position dir: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".pos") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(ps.dir, e.Name()))
		if err != nil {
			continue
		}
		if p, err := parsePosition(data); err == nil && posName(p.rel) == e.Name() {
			ps.m[p.rel] = p
		}
	}
	return nil
}

// save stores p durably.
func (ps *positions) save(p position) error {
	ps.m[p.rel] = p
	path := filepath.Join(ps.dir, posName(p.rel))
	if err := ps.w.WriteFile(path, p.encode(), 0o644); err != nil {
		return printf.Errorf("saving log position of %s: %w", p.rel, err)
	}
	return nil
}

// forget drops rel's position and its file.
func (ps *positions) forget(rel string) {
	delete(ps.m, rel)
	os.Remove(filepath.Join(ps.dir, posName(rel)))
}

// sync matches the positions with a scan of the tree. Steps:
//  1. a file whose position is missing or names another inode takes the
//     position of a vanished or replaced file of the same directory with
//     its inode (a rotation that renamed it: its lines are not sent again);
//  2. when the scan was complete, the positions of files no longer in
//     the tree are forgotten.
func (ps *positions) sync(files []treeFile, complete bool) {
	byRel := make(map[string]uint64, len(files))
	for _, f := range files {
		byRel[f.rel] = f.ino
	}
	for _, f := range files {
		if p, ok := ps.m[f.rel]; ok && p.ino == f.ino {
			continue
		}
		for rel, p := range ps.m {
			if p.ino == f.ino && f.ino != 0 && rel != f.rel && byRel[rel] != p.ino && path.Dir(rel) == path.Dir(f.rel) {
				p.rel = f.rel
				ps.forget(rel)
				ps.m[f.rel] = p // saved with its next advance
				break
			}
		}
	}
	for rel := range ps.m {
		if _, ok := byRel[rel]; !ok && complete {
			ps.forget(rel)
		}
	}
}

// maxLine bounds the part of one line kept in memory: a longer line is
// sent cut (proto.LogBatch cuts it to what one request takes anyway).
const maxLine = proto.MaxLogBytes

// readBuf is the size of a lineReader's buffer.
const readBuf = 32 << 10

// bufioReader returns the buffered reader a lineReader reuses.
func bufioReader() *bufio.Reader { return bufio.NewReaderSize(nil, readBuf) }

// lineReader reads the complete lines of one log file from its pushed
// position, with a bounded buffer.
type lineReader struct {
	tf   treeFile
	f    *os.File
	r    *bufio.Reader
	off  int64  // offset after the last line returned
	head []byte // the file's first bytes (at most headMax)
	buf  []byte
}

// open opens f and seeks to its position in ps: 0 when it has none, when
// the position names another inode, when the file is shorter than it
// (truncated, or a new file with a reused inode) or starts with other
// bytes. r's buffer is reused.
func (lr *lineReader) open(dir string, tf treeFile, ps *positions) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(tf.rel)))
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	tf.ino, tf.size, tf.mtime = inode(fi), fi.Size(), fi.ModTime()
	head := make([]byte, headMax)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		f.Close()
		return err
	}
	lr.tf, lr.f, lr.head, lr.off = tf, f, head[:n], 0
	if p, ok := ps.m[tf.rel]; ok && p.ino == tf.ino && p.off <= tf.size &&
		p.headLen <= n && headHash(lr.head[:p.headLen]) == p.head {
		lr.off = p.off
	}
	if _, err := f.Seek(lr.off, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	lr.r.Reset(f)
	return nil
}

// close closes the file.
func (lr *lineReader) close() {
	if lr.f != nil {
		lr.f.Close()
		lr.f = nil
	}
}

// next returns the next complete line without its '\n' (valid until the
// next call; at most maxLine bytes of it, the rest skipped) and the
// offset after it. ok is false at the end of the complete lines: a last
// line without '\n' waits for the rest.
func (lr *lineReader) next() (line []byte, end int64, ok bool, err error) {
	lr.buf = lr.buf[:0]
	var n int64
	for {
		chunk, rerr := lr.r.ReadSlice('\n')
		n += int64(len(chunk))
		if rerr == nil {
			chunk = chunk[:len(chunk)-1]
		}
		if room := maxLine - len(lr.buf); room > 0 {
			lr.buf = append(lr.buf, chunk[:min(room, len(chunk))]...)
		}
		switch rerr {
		case nil:
			lr.off += n
			return lr.buf, lr.off, true, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return nil, lr.off, false, nil
		default:
			return nil, lr.off, false, rerr
		}
	}
}

// advanced is the position of lr's file at offset end.
func (lr *lineReader) advanced(end int64) position {
	hl := int(min(end, int64(len(lr.head))))
	return position{rel: lr.tf.rel, ino: lr.tf.ino, off: end, headLen: hl, head: headHash(lr.head[:hl])}
}
