package kmod

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a Loader.Load that records its calls and fails on bad.
type recorder struct {
	calls [][2]string
	bad   string
}

func (r *recorder) load(file, params string) error {
	r.calls = append(r.calls, [2]string{file, params})
	if filepath.Base(file) == r.bad {
		return errors.New("refused")
	}
	return nil
}

func TestProbeLoadsDependenciesFirst(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(sampleDep), 0o644))
	var r recorder
	l := Loader{Dir: dir, Load: r.load}
	require.NoError(t, l.Probe("ext4", "debug=1"))
	p := func(rel string) string { return filepath.Join(dir, rel) }
	assert.Equal(t, [][2]string{
		{p("kernel/fs/jbd2/jbd2.ko"), ""},
		{p("kernel/fs/mbcache.ko"), ""},
		{p("kernel/lib/crc16.ko"), ""},
		{p("kernel/fs/ext4/ext4.ko"), "debug=1"},
	}, r.calls, "params go to the named module only")

	r = recorder{bad: "mbcache.ko"}
	assert.ErrorContains(t, l.Probe("ext4", ""), "refused")
	assert.Len(t, r.calls, 2, "stops at the first failure")
	assert.ErrorIs(t, l.Probe("nosuch", ""), ErrNotFound)
	assert.ErrorIs(t, (&Loader{Dir: t.TempDir()}).Probe("ext4", ""), os.ErrNotExist, "no modules.dep")
}

func TestLoadListKeepsGoing(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "modules.load")
	require.NoError(t, os.WriteFile(list, []byte("# load order\n/m/a.ko\n\n/m/b.ko\n/m/c.ko\n"), 0o644))
	r := recorder{bad: "b.ko"}
	l := Loader{Load: r.load}
	n, errs := l.LoadList(list)
	assert.Equal(t, 2, n)
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], "refused")
	assert.Equal(t, [][2]string{{"/m/a.ko", ""}, {"/m/b.ko", ""}, {"/m/c.ko", ""}}, r.calls)

	n, errs = l.LoadList(filepath.Join(dir, "none"))
	assert.Zero(t, n)
	assert.Empty(t, errs, "a missing load list is no error")
}

// TestLoadFileErrors needs no privilege: a missing file fails before the
// syscall, and the kernel refuses a file that is no module whoever asks
// (EPERM, ENOEXEC or ENOSYS); either way the error names the file.
func TestLoadFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nosuch.ko")
	err := LoadFile(missing, "")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, missing)

	junk := filepath.Join(t.TempDir(), "junk.ko")
	require.NoError(t, os.WriteFile(junk, []byte("not an ELF module"), 0o644))
	err = LoadFile(junk, "")
	assert.ErrorContains(t, err, "finit_module "+junk)
}

// TestProbeAlias: a name no module has is looked up in modules.alias, as
// the kernel's request_module asks ("fs-ext4"); an unknown alias is
// ErrNotFound.
func TestProbeAlias(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(sampleDep), 0o644))
	var r recorder
	l := Loader{Dir: dir, Load: r.load}
	assert.ErrorIs(t, l.Probe("fs-ext4", ""), ErrNotFound, "no modules.alias")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.alias"), []byte("alias fs-ext4 ext4\nalias fs-ext* ext4\n"), 0o644))
	require.NoError(t, l.Probe("fs-ext4", ""))
	assert.Len(t, r.calls, 4, "ext4 and its three dependencies, once")
	assert.Equal(t, filepath.Join(dir, "kernel/fs/ext4/ext4.ko"), r.calls[3][0])
	assert.ErrorIs(t, l.Probe("fs-xfs", ""), ErrNotFound)
}

// TestProbeEach: every name is probed as Probe would, a failure does not
// stop the others and is returned; a directory without modules.dep is
// one error.
func TestProbeEach(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(sampleDep), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.alias"), []byte("alias fs-ext4 ext4\n"), 0o644))
	var r recorder
	l := Loader{Dir: dir, Load: r.load}
	errs := l.ProbeEach("nosuch", "fs-ext4")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], ErrNotFound)
	assert.Len(t, r.calls, 4, "fs-ext4: ext4 and its three dependencies, after the failure")
	assert.Equal(t, filepath.Join(dir, "kernel/fs/ext4/ext4.ko"), r.calls[3][0])
	errs = (&Loader{Dir: t.TempDir()}).ProbeEach("ext4", "fs-ext4")
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], os.ErrNotExist, "no modules.dep")
}

// TestUnloadNamesTheModule: see Loader.Unload.
func TestUnloadNamesTheModule(t *testing.T) {
	var got []string
	l := Loader{Remove: func(name string) error { got = append(got, name); return nil }}
	require.NoError(t, l.Unload("hci-uart"))
	assert.Equal(t, []string{"hci_uart"}, got, "dashes folded as the kernel names modules")

	// Whatever the host allows (ENOENT is success; EPERM or ENOSYS
	// without privilege or module support), a failure names the module.
	if err := RemoveModule("pvgo-no-such-module"); err != nil {
		assert.ErrorContains(t, err, "delete_module pvgo_no_such_module")
	}
}
