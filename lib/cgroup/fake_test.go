package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeV1 are the v1 mounts of a fake tree: directory and super options.
var fakeV1 = [][2]string{
	{"cpu,cpuacct", "rw,cpu,cpuacct"},
	{"cpuset", "rw,cpuset"},
	{"memory", "rw,memory"},
	{"devices", "rw,devices"},
	{"freezer", "rw,freezer"},
	{"pids", "rw,pids"},
	{"systemd", "rw,xattr,name=systemd"},
}

// fakeV2Controllers are offered by a fake Unified root.
const fakeV2Controllers = "cpuset cpu io memory pids"

// fakeManager builds a fake cgroup tree of mode in a temp dir (plain
// directories, and for Unified the root's cgroup.controllers and
// cgroup.subtree_control, also in the parent directory, which a real
// cgroup2 would have) and a Manager pointing at it with mountinfo listing it.
func fakeManager(t *testing.T, mode Mode, parent string) *Manager {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "cg")
	var mi strings.Builder
	line := func(n int, point, fstype, super string) {
		fmt.Fprintf(&mi, "%d 1 0:%d / %s rw,relatime - %s %s %s\n", n, n, strings.ReplaceAll(point, " ", `\040`), fstype, fstype, super)
		require.NoError(t, os.MkdirAll(point, 0o755))
	}
	if mode == Unified {
		line(100, root, "cgroup2", "rw,nsdelegate")
		for _, d := range []string{root, filepath.Join(root, parent)} {
			require.NoError(t, os.MkdirAll(d, 0o755))
			writeTestFile(t, filepath.Join(d, "cgroup.controllers"), fakeV2Controllers+"\n")
			writeTestFile(t, filepath.Join(d, "cgroup.subtree_control"), "")
		}
	} else {
		line(99, root, "tmpfs", "rw,mode=755")
		for i, h := range fakeV1 {
			line(100+i, filepath.Join(root, h[0]), "cgroup", h[1])
		}
		if mode == Hybrid {
			line(200, filepath.Join(root, "unified"), "cgroup2", "rw")
		}
	}
	mountinfo := filepath.Join(dir, "mountinfo")
	writeTestFile(t, mountinfo, mi.String())
	return &Manager{Root: root, Mountinfo: mountinfo, Parent: parent}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
