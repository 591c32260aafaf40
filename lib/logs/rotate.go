package logs

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pantavisor/lib/gz"
)

// rotation holds the figures of upstream's logserver_rotation.c for a
// budget B: gap = B / hysteresis factor, high = 90% of B, low = B - gap,
// size = gap / rotate factor (a file reaching size is gzipped to
// <name>.<N>.gz). cur is the log dir's size as the writer knows it.
type rotation struct {
	budget, high, low, size int64
	cur                     int64
	writes                  int
}

// Rotation is the figures derived from a budget (see Budget), exported
// for callers that report them.
type Rotation struct {
	Budget, Gap, High, Low, RotateSize int64
}

// Figures computes the rotation figures of a budget in bytes with the
// PV_LOG_HYSTERESIS_FACTOR and PV_LOG_ROTATE_FACTOR divisors (values below
// 1 mean the defaults 4 and 5).
func Figures(budget int64, hysteresis, rotate int) Rotation {
	if hysteresis < 1 {
		hysteresis = 4
	}
	if rotate < 1 {
		rotate = 5
	}
	gap := budget / int64(hysteresis)
	return Rotation{Budget: budget, Gap: gap, High: budget * 9 / 10, Low: budget - gap, RotateSize: gap / int64(rotate)}
}

// recountEvery is how many writes pass between two walks of the log dir to
// correct cur (files removed by others, such as the revision GC).
const recountEvery = 100

// rotate gzips the file at path to <path>.<N>.gz, N one above the highest
// existing, and removes it.
func (t *tree) rotate(path string) error {
	lf := t.files[path]
	size := lf.size
	t.close(path)
	dir, base := filepath.Split(path)
	ents, _ := os.ReadDir(dir)
	next := 1
	for _, e := range ents {
		if b, n, ok := rotatedName(e.Name()); ok && b == base && n >= next {
			next = n + 1
		}
	}
	gz := path + "." + strconv.Itoa(next) + ".gz"
	zsize, err := gzipFile(path, gz)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		return err
	}
	t.rot.cur += zsize - size
	return nil
}

// gzipFile writes src compressed to dst and returns dst's size.
func gzipFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	_, err = gz.Compress(out, in)
	var size int64
	if err == nil {
		size, err = out.Seek(0, io.SeekCurrent)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return size, err
}

// rotatedName splits "<base>.<N>.gz" into base and N.
func rotatedName(name string) (base string, n int, ok bool) {
	s, ok := strings.CutSuffix(name, ".gz")
	i := strings.LastIndexByte(s, '.')
	if !ok || i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 || s[i+1] == '+' || s[i+1] == '-' {
		return "", 0, false
	}
	return s[:i], n, true
}

// dirInfo is one directory of the log tree: the size of the files in it
// and its rotated files.
type dirInfo struct {
	size    int64
	rotated []rotFile
}

type rotFile struct {
	path, base string
	n          int
	size       int64
}

// scan walks the log dir and returns its total size and its directories.
func (t *tree) scan() (int64, map[string]*dirInfo) {
	var total int64
	dirs := make(map[string]*dirInfo)
	_ = filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		dir, name := filepath.Split(p)
		di := dirs[dir]
		if di == nil {
			di = &dirInfo{}
			dirs[dir] = di
		}
		di.size += fi.Size()
		total += fi.Size()
		if base, n, ok := rotatedName(name); ok {
			di.rotated = append(di.rotated, rotFile{p, base, n, fi.Size()})
		}
		return nil
	})
	return total, dirs
}

// enforce keeps the log dir within the budget, as upstream does: cur is
// recounted from the disk every recountEvery writes, and once it reaches
// the high watermark the oldest rotated file (lowest N of the log with
// the most rotated files) of the largest directory is deleted, again and
// again, until cur is below the low watermark. When no rotated file is
// left and the dir is still above low (many live files, none rotated
// yet), the largest live file is deleted too, which upstream does not do:
// the budget then holds whatever the number of sources.
func (t *tree) enforce() error {
	if t.rot.budget <= 0 {
		return nil
	}
	t.rot.writes++
	if t.rot.writes%recountEvery == 0 {
		t.rot.cur, _ = t.scan()
	}
	if t.rot.cur < t.rot.high {
		return nil
	}
	var dirs map[string]*dirInfo
	t.rot.cur, dirs = t.scan()
	for t.rot.cur > t.rot.low {
		victim, di := oldestRotated(dirs)
		if di == nil {
			victim, di = largestFile(t.root, dirs)
			if di == nil {
				return nil
			}
			t.close(victim.path)
		}
		if err := os.Remove(victim.path); err != nil && !os.IsNotExist(err) {
			return err
		}
		t.rot.cur -= victim.size
		di.size -= victim.size
	}
	return nil
}

// oldestRotated picks the largest directory that has rotated files and, in
// it, the lowest-numbered file of the log with the most rotated files; it
// removes the pick from the directory's list.
func oldestRotated(dirs map[string]*dirInfo) (rotFile, *dirInfo) {
	var big *dirInfo
	for _, di := range dirs {
		if len(di.rotated) > 0 && (big == nil || di.size > big.size) {
			big = di
		}
	}
	if big == nil {
		return rotFile{}, nil
	}
	count := make(map[string]int)
	for _, r := range big.rotated {
		count[r.base]++
	}
	pick := -1
	for i, r := range big.rotated {
		if pick < 0 {
			pick = i
			continue
		}
		p := big.rotated[pick]
		if count[r.base] > count[p.base] || r.base == p.base && r.n < p.n {
			pick = i
		}
	}
	v := big.rotated[pick]
	big.rotated = append(big.rotated[:pick], big.rotated[pick+1:]...)
	return v, big
}

// largestFile finds the largest regular file under root (a last resort).
func largestFile(root string, dirs map[string]*dirInfo) (rotFile, *dirInfo) {
	var best rotFile
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && fi.Size() > best.size {
				best = rotFile{path: p, size: fi.Size()}
			}
		}
		return nil
	})
	if best.path == "" {
		return best, nil
	}
	dir, _ := filepath.Split(best.path)
	if dirs[dir] == nil {
		dirs[dir] = &dirInfo{}
	}
	return best, dirs[dir]
}
