package instance

import (
	"bufio"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// MountsBelow parses a mountinfo text (proc(5)) and returns the mount
// points strictly below one of dirs (clean absolute paths), in the order
// to unmount them: deepest first, and among equals the later mount first
// (a mount stacked on another, or on a point inside it, is listed after
// it). A point mounted twice is listed twice.
func MountsBelow(r io.Reader, dirs []string) ([]string, error) {
	type entry struct {
		point string
		order int
	}
	var found []entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 5 {
			return nil, printf.Errorf("mountinfo line %d: malformed: %q", n, sc.Text())
		}
		p := mount.Unescape(f[4])
		if slices.ContainsFunc(dirs, func(d string) bool { return below(p, d) }) {
			found = append(found, entry{p, n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("read mountinfo: %w", err)
	}
	slices.SortStableFunc(found, func(a, b entry) int {
		if da, db := depth(a.point), depth(b.point); da != db {
			return db - da
		}
		return b.order - a.order
	})
	var out []string
	for _, e := range found {
		out = append(out, e.point)
	}
	return out, nil
}

// below reports whether path is strictly inside dir.
func below(path, dir string) bool {
	dir = filepath.Clean(dir)
	if dir == "/" {
		return path != "/" && strings.HasPrefix(path, "/")
	}
	return strings.HasPrefix(path, dir+"/")
}

func depth(p string) int { return strings.Count(filepath.Clean(p), "/") }
