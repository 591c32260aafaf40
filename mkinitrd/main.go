// Command mkinitrd writes the initramfs of a board: a reproducible newc cpio
// holding the device binary as /init, a symlink for every applet, the
// directories the init needs, /dev/console and /dev/null, and the board's
// kernel modules with their dependencies in load order, and the trust
// stores of signed revisions (-trust, else the board's "trust") at
// /etc/pantavisor/pvs/trust, each checked with lib/pvs as the device loads
// it; compressed by xz(1) with a CRC32 check and a 1 MiB dictionary, which
// the kernel's decoder accepts, and the BCJ filter of the binary's
// architecture when the kernel's config (-kernel DIR/config) says its
// decoder has it, the modules then in a second archive without it
// (cpio.Pack, bcjFor).
//
// Usage:
//
//	mkinitrd -binary out/pantavisor -o out/initrd.img [-board NAME -kernel DIR] [-trust DIR] [-applets FILE]
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"pantavisor/boards"
	"pantavisor/lib/disk"
	"pantavisor/mkinitrd/cpio"
)

// Paths inside the initramfs.
const (
	binPath     = "usr/bin/pantavisor"
	modulesLoad = "etc/pantavisor/modules.load" // read by the init applet
)

// skeleton is every directory the init expects, with its mode.
var skeleton = map[string]uint32{
	"dev": 0o755, "proc": 0o555, "sys": 0o555, "run": 0o755, "tmp": 0o1777,
	"etc": 0o755, "etc/pantavisor": 0o755, "usr": 0o755, "usr/bin": 0o755,
	"lib": 0o755, "lib/modules": 0o755, "lib/firmware": 0o755,
	"storage": 0o755, "volumes": 0o755, "writable": 0o755, "exports": 0o755,
	"configs": 0o755, "root": 0o700, "pantavisor": 0o755,
}

type options struct {
	binary, out, board, boardsDir, kernel, applets, trust string
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "mkinitrd: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("mkinitrd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.binary, "binary", "out/pantavisor", "device binary")
	fs.StringVar(&o.out, "o", "out/initrd.img", "output file")
	fs.StringVar(&o.board, "board", "", "board whose modules to include (none: no modules)")
	fs.StringVar(&o.boardsDir, "boards", boards.Dir(), "boards directory")
	fs.StringVar(&o.kernel, "kernel", "", "fetched kernel directory (modules/, config), needed with -board; its config decides the xz BCJ filter")
	fs.StringVar(&o.applets, "applets", "", "file with applet names, one a line (default: run BINARY --list)")
	fs.StringVar(&o.trust, "trust", "", "trust store directory (*.crt, pub.pem) shipped at /etc/pantavisor/pvs/trust (default: the board's \"trust\")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	entries, notes, err := build(o)
	for _, n := range notes {
		fmt.Fprintf(stderr, "mkinitrd: %s\n", n)
	}
	if err != nil {
		return err
	}
	var bin []byte // build read it into its entry
	for _, e := range entries {
		if e.Name == binPath {
			bin = e.Data
		}
	}
	bcj, note, err := bcjFor(bin, o.kernel)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mkinitrd: %s\n", note)
	packed, err := cpio.Pack(entries, bcj)
	if err != nil {
		return err
	}
	return writeAtomic(o.out, packed)
}

// build assembles the entries of the initramfs: the skeleton, the binary
// and its applet links, the trust stores, the board's key hardware
// (lib/disk.KeyHardwareFile, when it has any) and its modules.
func build(o options) ([]cpio.Entry, []string, error) {
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return nil, nil, err
	}
	names, err := appletNames(o)
	if err != nil {
		return nil, nil, err
	}
	var b *boards.Board
	if o.board != "" {
		if b, err = boards.Load(o.boardsDir, o.board); err != nil {
			return nil, nil, err
		}
	}
	var es []cpio.Entry
	for dir, mode := range skeleton {
		es = append(es, cpio.Entry{Name: dir, Mode: cpio.TypeDir | mode})
	}
	es = append(es,
		cpio.Entry{Name: binPath, Mode: cpio.TypeReg | 0o755, Data: bin},
		cpio.Entry{Name: "init", Mode: cpio.TypeLink | 0o777, Link: binPath},
		cpio.Entry{Name: "bin", Mode: cpio.TypeLink | 0o777, Link: "usr/bin"},
		cpio.Entry{Name: "sbin", Mode: cpio.TypeLink | 0o777, Link: "usr/bin"},
		cpio.Entry{Name: "dev/console", Mode: cpio.TypeChar | 0o600, Major: 5, Minor: 1},
		cpio.Entry{Name: "dev/null", Mode: cpio.TypeChar | 0o666, Major: 1, Minor: 3},
	)
	for _, n := range names {
		if n == path.Base(binPath) {
			continue
		}
		es = append(es, cpio.Entry{Name: "usr/bin/" + n, Mode: cpio.TypeLink | 0o777, Link: "pantavisor"})
	}
	ts, notes, err := trustFor(o, b)
	if err != nil {
		return nil, notes, err
	}
	es = append(es, ts...)
	if b == nil {
		return es, notes, nil
	}
	if len(b.KeyHardware) > 0 {
		es = append(es, cpio.Entry{Name: strings.TrimPrefix(disk.KeyHardwareFile, "/"), Mode: cpio.TypeReg | 0o644,
			Data: []byte(strings.Join(b.KeyHardware, "\n") + "\n")})
	}
	mods, mn, err := boardModules(o, b)
	notes = append(notes, mn...)
	if err != nil {
		return nil, notes, err
	}
	return append(es, mods...), notes, nil
}

// boardModules returns the board's modules, their modules.dep and the load
// list as entries.
func boardModules(o options, b *boards.Board) ([]cpio.Entry, []string, error) {
	if o.kernel == "" {
		return nil, nil, errors.New("-board needs -kernel (the fetched kernel directory)")
	}
	dir, err := boards.ModulesRelease(o.kernel)
	if err != nil {
		return nil, nil, err
	}
	set, err := resolveModules(dir, b.Modules)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	for _, n := range set.builtin {
		notes = append(notes, fmt.Sprintf("module %s is built into the kernel, not included", n))
	}
	base := "lib/modules/" + set.release
	es := []cpio.Entry{{Name: base, Mode: cpio.TypeDir | 0o755}}
	dirs := map[string]bool{}
	var rels []string
	for rel := range set.files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		es = append(es, cpio.Entry{Name: base + "/" + rel, Mode: cpio.TypeReg | 0o644, Data: set.files[rel]})
	}
	for d := range dirs {
		es = append(es, cpio.Entry{Name: base + "/" + d, Mode: cpio.TypeDir | 0o755})
	}
	var dep, list bytes.Buffer
	if err := set.deps.WriteDep(&dep, rels); err != nil {
		return nil, notes, err
	}
	fmt.Fprintf(&list, "# written by mkinitrd for board %s: modules in load order\n", b.Name)
	for _, rel := range set.order {
		fmt.Fprintf(&list, "/%s/%s\n", base, rel)
	}
	notes = append(notes, fmt.Sprintf("%d modules for %s (%s)", len(set.order), b.Name, set.release))
	return append(es,
		cpio.Entry{Name: base + "/modules.dep", Mode: cpio.TypeReg | 0o644, Data: dep.Bytes()},
		cpio.Entry{Name: modulesLoad, Mode: cpio.TypeReg | 0o644, Data: list.Bytes()},
	), notes, nil
}

// appletNames reads -applets or asks the binary itself (native arch only).
func appletNames(o options) ([]string, error) {
	var data []byte
	var err error
	if o.applets != "" {
		data, err = os.ReadFile(o.applets)
	} else {
		data, err = exec.Command(o.binary, "--list").Output()
		if err != nil {
			err = fmt.Errorf("%s --list (give -applets for a foreign-arch binary): %w", o.binary, err)
		}
	}
	if err != nil {
		return nil, err
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		n := strings.TrimSpace(sc.Text())
		if n == "" {
			continue
		}
		if strings.ContainsAny(n, "/\x00") || n == "." || n == ".." {
			return nil, fmt.Errorf("applet name %q is not a file name", n)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("no applet names")
	}
	return names, nil
}

// writeAtomic writes a file through a temporary name so a failed run leaves
// no half-written image.
func writeAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
