package lxcconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeTree writes files (path relative to dir → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
}

func TestIncludeFileAndDir(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"main.conf":         "lxc.uts.name = main\nlxc.include = common.conf\nlxc.include = conf.d\nlxc.cap.keep = kill\nlxc.mount.fstab = fstab\n",
		"common.conf":       "lxc.uts.name = common\nlxc.environment = A=1\nlxc.include = sub/more.conf\n",
		"sub/more.conf":     "lxc.environment = B=2\nlxc.bogus = 1\n",
		"conf.d/20-b.conf":  "lxc.environment = D=4\n",
		"conf.d/10-a.conf":  "lxc.environment = C=3\nlxc.cap.keep = chown\n",
		"conf.d/.conf":      "lxc.environment = NOT=1\n",
		"conf.d/readme.txt": "not a config",
		"fstab":             "proc proc proc nodev 0 0\n",
	})
	c, warns, err := Load(filepath.Join(dir, "main.conf"))
	require.NoError(t, err)
	assert.Equal(t, "common", c.UTSName, "the include is read where it stands")
	assert.Equal(t, []string{"A=1", "B=2", "C=3", "D=4"}, c.Env, "directory entries in name order")
	assert.Equal(t, []int{0, 5}, c.CapKeep)
	assert.Equal(t, filepath.Join(dir, "fstab"), c.Fstab)
	assert.Equal(t, []MountEntry{{"proc", "proc", "proc", []string{"nodev"}, 0, 0}}, c.FstabMounts)
	require.Len(t, warns, 1)
	assert.Equal(t, Warning{File: filepath.Join(dir, "sub/more.conf"), Line: 2, Key: "lxc.bogus", Err: ErrUnknownKey}, warns[0])

	// The same with a relative path and an absolute include.
	writeTree(t, dir, map[string]string{"abs.conf": "lxc.include = " + filepath.Join(dir, "sub/more.conf") + "\n"})
	t.Chdir(dir)
	c, _, err = Load("abs.conf")
	require.NoError(t, err)
	assert.Equal(t, []string{"B=2"}, c.Env)
}

func TestIncludeErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"loop.conf":     "lxc.uts.name = x\nlxc.include = loop2.conf\n",
		"loop2.conf":    "\nlxc.include = ./loop.conf\n",
		"self.conf":     "lxc.include = self.conf\n",
		"bad.conf":      "lxc.include = d\n",
		"d/1.conf":      "lxc.uts.name = ok\n",
		"d/2.conf":      "lxc.uts.name = ok\nlxc.tty.max = many\n",
		"fstab.conf":    "lxc.tty.max = 1\nlxc.mount.fstab = fstab\n",
		"fstab":         "proc proc proc\nbad line\n",
		"nofstab.conf":  "lxc.mount.fstab = /nonexistent/fstab\n",
		"missing.conf":  "lxc.include = nothere\n",
		"caps.conf":     "lxc.include = d/1.conf\nlxc.include = caps.d\n",
		"caps.d/a.conf": "lxc.cap.keep = kill\n",
		"caps.d/b.conf": "lxc.cap.drop = chown\n",
	})
	for _, tc := range []struct {
		file string
		is   error
		want []string
	}{
		{"loop.conf", ErrInclude, []string{"loop.conf:2: lxc.include: ", "loop2.conf:2: lxc.include: ",
			"include loop or too deep: ", "loop.conf -> ", "loop2.conf -> ", "loop.conf"}},
		{"self.conf", ErrInclude, []string{"self.conf:1: lxc.include: include loop"}},
		{"bad.conf", ErrBadValue, []string{"bad.conf:1: lxc.include: ", "d/2.conf:2: lxc.tty.max: bad value"}},
		{"fstab.conf", ErrBadValue, []string{"fstab.conf:2: lxc.mount.fstab: ", "fstab:2: bad value"}},
		{"nofstab.conf", os.ErrNotExist, []string{"nofstab.conf:1: lxc.mount.fstab: "}},
		{"missing.conf", os.ErrNotExist, []string{"missing.conf:1: lxc.include: including: "}},
		{"caps.conf", ErrConflict, []string{"caps.d/a.conf:1", "caps.d/b.conf:1"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, _, err := Load(filepath.Join(dir, tc.file))
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.is)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	_, _, err := Load(filepath.Join(dir, "absent.conf"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestIncludeDepth(t *testing.T) {
	// A chain of distinct files deeper than maxDepth.
	dir := t.TempDir()
	files := map[string]string{}
	for i := 0; i <= maxDepth; i++ {
		files[filepath.Join("c", strings.Repeat("d/", i), "x.conf")] = "lxc.include = d/x.conf\n"
	}
	writeTree(t, dir, files)
	_, _, err := Load(filepath.Join(dir, "c", "x.conf"))
	assert.ErrorIs(t, err, ErrInclude)
}
