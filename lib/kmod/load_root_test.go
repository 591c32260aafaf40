package kmod

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"

	"pantavisor/lib/testenv"
)

// candidates are small modules without dependencies that load and unload
// with no side effect worth mentioning (dummy adds a dummy0 link while
// loaded), in order of preference.
var candidates = []string{"ts_bm", "crc_itu_t", "ip6_udp_tunnel", "dummy"}

// loadedModules returns the names in /proc/modules.
func loadedModules(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("/proc/modules")
	require.NoError(t, err)
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), " "); ok {
			out[name] = true
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// readKo returns a module file's uncompressed bytes (.ko, .ko.xz, .ko.gz,
// or .ko.zst when the zstd command exists).
func readKo(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r io.Reader
	switch filepath.Ext(file) {
	case ".ko":
		return data, nil
	case ".xz":
		r, err = xz.NewReader(bytes.NewReader(data))
	case ".gz":
		r, err = gzip.NewReader(bytes.NewReader(data))
	case ".zst":
		if _, err := exec.LookPath("zstd"); err != nil {
			return nil, errors.New("is zstd-compressed and the zstd command is missing")
		}
		return exec.Command("zstd", "-dc", file).Output()
	default:
		return nil, errors.New("has an unknown compression")
	}
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// modinfoDepends returns the depends= value of a module's .modinfo.
func modinfoDepends(ko []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return "", err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return "", errors.New("has no .modinfo")
	}
	info, err := sec.Data()
	if err != nil {
		return "", err
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			return string(v), nil
		}
	}
	return "", nil
}

// pickModule finds the first candidate below dir that is not loaded and
// has no dependencies, writes it uncompressed into tmp and returns its name
// and that file; with none it returns why each candidate was passed over.
func pickModule(dir, tmp string, loaded map[string]bool) (name, file string, why []string) {
	found := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			found[Name(p)] = p
		}
		return nil
	})
	for _, c := range candidates {
		p, ok := found[c]
		if !ok {
			why = append(why, c+" not found")
			continue
		}
		if loaded[c] {
			why = append(why, c+" already loaded")
			continue
		}
		ko, err := readKo(p)
		if err == nil {
			var deps string
			if deps, err = modinfoDepends(ko); err == nil && deps != "" {
				err = fmt.Errorf("depends on %s", deps)
			}
		}
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		file = filepath.Join(tmp, c+".ko")
		if err := os.WriteFile(file, ko, 0o644); err != nil {
			why = append(why, err.Error())
			continue
		}
		return c, file, nil
	}
	return "", "", why
}

// TestLoadFileForReal loads a real module of the running kernel with
// LoadFile, sees it in /proc/modules, loads it again (EEXIST is success)
// and removes it with delete_module(2).
func TestLoadFileForReal(t *testing.T) {
	testenv.RequireRoot(t)
	_, err := os.Stat("/proc/modules")
	testenv.RequireKernelFeature(t, err == nil, "loadable module support (no /proc/modules: CONFIG_MODULES is off)",
		"boards/qemu TestBootPowerOff, which loads every initramfs module with finit_module")
	disabled, _ := os.ReadFile("/proc/sys/kernel/modules_disabled")
	testenv.RequireKernelFeature(t, strings.TrimSpace(string(disabled)) != "1", "module loading (kernel.modules_disabled=1)",
		"boards/qemu TestBootPowerOff, which loads every initramfs module with finit_module")
	dir, err := ModulesDir()
	require.NoError(t, err)
	_, err = os.Stat(dir)
	testenv.Require(t, err == nil, "needs "+dir+" for the running kernel")

	name, file, why := pickModule(dir, t.TempDir(), loadedModules(t))
	testenv.Require(t, name != "", "needs one of "+strings.Join(candidates, ", ")+
		" unloaded and without dependencies in "+dir+": "+strings.Join(why, "; "))
	require.NoError(t, LoadFile(file, ""))
	t.Cleanup(func() {
		assert.NoError(t, unix.DeleteModule(name, unix.O_NONBLOCK), "removing %s", name)
	})
	assert.True(t, loadedModules(t)[name], "%s is in /proc/modules after LoadFile", name)
	assert.NoError(t, LoadFile(file, ""), "loading a loaded module again is success")
}
