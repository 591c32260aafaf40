package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/lib/printf"
)

// ErrEscape is returned for a path that would leave the container root.
var ErrEscape = errors.New("path escapes the container root")

// maxSymlinks bounds symlink resolution, as the kernel does (40).
const maxSymlinks = 40

// resolveIn resolves unsafe, a path inside the directory root, following
// symlinks as if root were "/" (an absolute link target starts again at
// root, as it would after pivot_root). Unlike a chroot it refuses rather
// than clamps: a ".." that would climb above root, in the path or in a
// link target, is ErrEscape. Missing trailing components are kept as
// they are, so the result can be created. The result is always root or
// below it.
func resolveIn(root, unsafe string) (string, error) {
	var done []string // resolved components below root
	todo := splitPath(unsafe)
	links := 0
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", printf.Errorf("%w: %q", ErrEscape, unsafe)
			}
			done = done[:len(done)-1]
			continue
		}
		cur := filepath.Join(root, filepath.Join(append(done, part)...))
		fi, err := os.Lstat(cur)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			done = append(done, part) // a missing or real entry
			continue
		}
		if links++; links > maxSymlinks {
			return "", printf.Errorf("resolving %q: too many symlinks", unsafe)
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(splitPath(target), todo...)
	}
	return filepath.Join(root, filepath.Join(done...)), nil
}

func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
