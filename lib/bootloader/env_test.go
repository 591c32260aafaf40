package bootloader

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/persist"
	"pantavisor/lib/testenv"
)

func openEnv(t *testing.T, kind, path string) Env {
	t.Helper()
	e, err := Open(kind, path)
	require.NoError(t, err)
	return e
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestOpenKinds(t *testing.T) {
	for _, kind := range []string{KindGrub, KindUboot, KindUbootPVK, KindDirect} {
		_, err := Open(kind, filepath.Join(t.TempDir(), "env"))
		require.NoError(t, err, kind)
		_, _, err = Layout(kind)
		require.NoError(t, err, kind)
	}
	_, err := Open("rpiab", "x")
	require.ErrorIs(t, err, ErrKind)
	_, _, err = Layout("")
	require.ErrorIs(t, err, ErrKind)
}

func TestLayoutTable(t *testing.T) {
	for _, tc := range []struct{ kind, env, latch string }{
		{KindGrub, "boot/grubenv", "boot/grub/grubenv"},
		{KindUboot, "boot/uboot.txt", ""},
		{KindUbootPVK, "boot/uboot.txt", ""},
		{KindDirect, "boot/direct.env", ""},
	} {
		env, latch, err := Layout(tc.kind)
		require.NoError(t, err)
		require.Equal(t, tc.env, env, tc.kind)
		require.Equal(t, tc.latch, latch, tc.kind)
	}
}

// TestCommitCreatesAndRewritesInPlace: a missing file is created whole
// (with its directory), later commits keep the inode for grub and uboot
// and replace the file for direct.
func TestCommitCreatesAndRewritesInPlace(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		inPlace bool
	}{{KindGrub, true}, {KindUboot, true}, {KindDirect, false}} {
		t.Run(tc.kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "boot", "env")
			e := openEnv(t, tc.kind, path)
			require.NoError(t, e.Set(KeyRev, "1"))
			require.NoError(t, e.Commit())
			ino := inode(t, path)
			require.NoError(t, e.Set(KeyTry, "2"))
			require.NoError(t, e.Unset(KeyRev))
			require.NoError(t, e.Commit())
			require.Equal(t, tc.inPlace, ino == inode(t, path))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.EqualValues(t, BlockSize, fi.Size())
			again := openEnv(t, tc.kind, path)
			v, ok := again.Get(KeyTry)
			require.True(t, ok)
			require.Equal(t, "2", v)
			_, ok = again.Get(KeyRev)
			require.False(t, ok)
		})
	}
}

// TestCorruptFiles: garbage is reported with ErrCorrupt, the env is usable
// (empty here), and the next commit writes a valid block.
func TestCorruptFiles(t *testing.T) {
	for _, tc := range []struct{ kind, content string }{
		{KindGrub, "garbage"},
		{KindGrub, strings.Repeat("\xff", BlockSize)},
		{KindDirect, ""},
		{KindUboot, "junk"},
	} {
		path := filepath.Join(t.TempDir(), "env")
		require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o644))
		e, err := Open(tc.kind, path)
		require.ErrorIs(t, err, ErrCorrupt, tc.kind)
		require.NotNil(t, e)
		_, ok := e.Get(KeyRev)
		require.False(t, ok)
		require.NoError(t, e.Set(KeyRev, "5"))
		require.NoError(t, e.Commit())
		v, _ := openEnv(t, tc.kind, path).Get(KeyRev)
		require.Equal(t, "5", v)
	}
}

// TestSetRefuses: invalid entries and an env that would not fit are
// refused at Set, and the staged env stays as it was.
func TestSetRefuses(t *testing.T) {
	for _, kind := range []string{KindGrub, KindUboot} {
		e := openEnv(t, kind, filepath.Join(t.TempDir(), "env"))
		require.NoError(t, e.Set("a", "1"))
		require.ErrorIs(t, e.Set("b", strings.Repeat("x", BlockSize)), ErrTooBig, kind)
		require.ErrorIs(t, e.Set("a=b", "1"), ErrInvalid, kind)
		_, ok := e.Get("b")
		require.False(t, ok)
		v, _ := e.Get("a")
		require.Equal(t, "1", v)
	}
}

func TestOpenAndCommitErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(KindGrub, dir)
	require.ErrorContains(t, err, "is a directory")
	for _, kind := range []string{KindGrub, KindDirect} {
		path := filepath.Join(t.TempDir(), "env")
		e := openEnv(t, kind, path)
		require.NoError(t, os.Mkdir(path, 0o755))
		require.Error(t, e.Commit(), kind)
	}
}

// TestCrashPointsNamed: an in-place commit announces pwrite and fsync of
// the file; a creation goes through persist's atomic write.
func TestCrashPointsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grubenv")
	var points []string
	o := Options{Writer: &persist.Writer{Crash: func(p string) { points = append(points, p) }}}
	e, err := o.Open(KindGrub, path)
	require.NoError(t, err)
	require.NoError(t, e.Commit())
	require.Contains(t, points, "rename "+path)
	points = nil
	require.NoError(t, e.Commit())
	require.Equal(t, []string{"pwrite " + path, "fsync " + path}, points)
}

func grubEditenv(t *testing.T, args ...string) string {
	t.Helper()
	testenv.RequireCommand(t, "grub-editenv", "Debian grub-common")
	out, err := exec.Command("grub-editenv", args...).CombinedOutput()
	require.NoError(t, err, "grub-editenv %v: %s", args, out)
	return string(out)
}

// TestGrubEditenvReadsOurs: what we write, grub-editenv lists (and keeps
// editing in place).
func TestGrubEditenvReadsOurs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grubenv")
	e := openEnv(t, KindGrub, path)
	require.NoError(t, e.Set(KeyRev, "locals/x-1"))
	require.NoError(t, e.Set("odd", "a\\b\nc d"))
	require.NoError(t, e.Set("empty", ""))
	require.NoError(t, e.Commit())
	require.Equal(t, "pv_rev=locals/x-1\nodd=a\\b\nc d\nempty=\n", grubEditenv(t, path, "list"))
	ino := inode(t, path)
	grubEditenv(t, path, "set", "pv_trying=2")
	require.Equal(t, ino, inode(t, path), "grub-editenv rewrote our block in place")
}

// TestWeReadGrubEditenv: what grub-editenv writes (its extra WARNING
// comment, escapes), we read, and our in-place rewrite keeps its inode.
func TestWeReadGrubEditenv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grubenv")
	grubEditenv(t, path, "create")
	grubEditenv(t, path, "set", "pv_rev=7", "pv_try=a\\b\nc", "x=")
	ino := inode(t, path)
	e := openEnv(t, KindGrub, path)
	for k, want := range map[string]string{"pv_rev": "7", "pv_try": "a\\b\nc", "x": ""} {
		v, ok := e.Get(k)
		require.True(t, ok, k)
		require.Equal(t, want, v, k)
	}
	require.NoError(t, e.Unset("x"))
	require.NoError(t, e.Set(KeyTrying, "8"))
	require.NoError(t, e.Commit())
	require.Equal(t, ino, inode(t, path))
	require.Equal(t, "pv_rev=7\npv_try=a\\b\nc\npv_trying=8\n", grubEditenv(t, path, "list"))
}

func writeRaw(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
