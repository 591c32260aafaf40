package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ulikunitz/xz"

	"pantavisor/lib/kmod"
)

// moduleSet is what the initramfs carries of a kernel's modules.
type moduleSet struct {
	release string            // kernel release, the directory under lib/modules
	files   map[string][]byte // path relative to lib/modules/<release> → uncompressed module
	order   []string          // load order (relative paths)
	deps    *kmod.Deps
	builtin []string // requested names that are built into the kernel
}

// resolveModules finds the named modules below dir (lib/modules/<release>),
// reads each one's .modinfo depends= to pull in its dependencies, and
// orders them for loading. Names the kernel has built in are skipped.
func resolveModules(dir string, names []string) (*moduleSet, error) {
	index := map[string]string{} // module name → relative path
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".ko.xz")) {
			rel, _ := filepath.Rel(dir, p)
			index[kmod.Name(rel)] = rel
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing modules: %w", err)
	}
	builtin, err := readBuiltin(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return nil, err
	}
	set := &moduleSet{release: filepath.Base(dir), files: map[string][]byte{}, deps: kmod.NewDeps()}
	var want []string
	var add func(name, from string) error
	add = func(name, from string) error {
		rel, ok := index[kmod.Name(name)]
		if !ok {
			if builtin[kmod.Name(name)] {
				if from == "" {
					set.builtin = append(set.builtin, name)
				}
				return nil
			}
			if from != "" {
				return fmt.Errorf("module %s (needed by %s): not found in %s", name, from, dir)
			}
			return fmt.Errorf("module %s: not found in %s", name, dir)
		}
		out := strings.TrimSuffix(rel, ".xz")
		if _, done := set.files[out]; done {
			return nil
		}
		data, err := readModule(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		set.files[out] = data
		depNames, err := modinfoDepends(data)
		if err != nil {
			return fmt.Errorf("module %s: %w", rel, err)
		}
		var depFiles []string
		for _, dn := range depNames {
			if err := add(dn, name); err != nil {
				return err
			}
			if drel, ok := index[kmod.Name(dn)]; ok {
				depFiles = append(depFiles, strings.TrimSuffix(drel, ".xz"))
			}
		}
		set.deps.Add(out, depFiles)
		return nil
	}
	for _, n := range names {
		if err := add(n, ""); err != nil {
			return nil, err
		}
		if !builtinOnly(set, n) {
			want = append(want, n)
		}
	}
	set.order, err = set.deps.Order(want...)
	if err != nil {
		return nil, err
	}
	return set, nil
}

func builtinOnly(set *moduleSet, name string) bool {
	for _, b := range set.builtin {
		if b == name {
			return true
		}
	}
	return false
}

// readModule returns a module file's bytes, decompressing .ko.xz: the init
// loads plain files, whatever the kernel's CONFIG_MODULE_DECOMPRESS.
func readModule(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(path, ".xz") {
		return data, err
	}
	r, err := xz.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	return io.ReadAll(r)
}

// modinfoDepends returns the depends= list of a module's .modinfo section.
func modinfoDepends(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("reading ELF: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	info, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .modinfo: %w", err)
	}
	return parseDepends(info), nil
}

// parseDepends picks depends= out of NUL-separated key=value pairs.
func parseDepends(modinfo []byte) []string {
	var out []string
	for _, kv := range bytes.Split(modinfo, []byte{0}) {
		v, ok := bytes.CutPrefix(kv, []byte("depends="))
		if !ok {
			continue
		}
		for _, d := range strings.Split(string(v), ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// readBuiltin reads modules.builtin into a set of module names; a missing
// file means nothing is built in.
func readBuiltin(path string) (map[string]bool, error) {
	out := map[string]bool{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out[kmod.Name(l)] = true
		}
	}
	return out, sc.Err()
}
