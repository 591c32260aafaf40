// Command size-budget is the size gate: it builds the device binary for
// every arch and variant, measures the stripped binary, its xz size at the
// kernel-safe settings (xz -9e --check=crc32 --lzma2=dict=1MiB) and the
// initramfs mkinitrd writes, compares them with budget.txt and fails when a
// figure exceeds its budget. It also prints the packages that cost the most,
// from the symbol table of an unstripped build: their raw bytes, an xz
// estimate (their own symbols' bytes compressed alone) and the
// full-vs-nohub delta, so a regression names its cause.
//
// Usage: go run ./size-budget [-budget size-budget/budget.txt] [-kernel DIR] [-kernel-arm64 DIR] [-top 15]
package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"pantavisor/buildflags"
)

// target is one build of the device binary.
type target struct {
	variant, arch string
}

func (t target) tags() string {
	if t.variant == "nohub" {
		return "nohub"
	}
	return ""
}

var targets = []target{
	{"full", "amd64"}, {"nohub", "amd64"},
	{"full", "arm64"}, {"nohub", "arm64"},
	{"full", "arm"}, {"nohub", "arm"},
}

// boardRow is an extra figure: a board's real initramfs, modules
// included, with the full binary of its arch.
type boardRow struct{ board, arch string }

var boardRows = []boardRow{{"qemu-x86_64", "amd64"}, {"qemu-arm64", "arm64"}, {"rpi64", "arm64"}}

type options struct {
	budget, kernel, kernelARM64, work string
	top                               int
}

// kernelOf is the fetched board kernel of an arch ("" for none).
func (o options) kernelOf(arch string) string {
	switch arch {
	case "amd64":
		return o.kernel
	case "arm64":
		return o.kernelARM64
	}
	return ""
}

// kernelDir is the fetched kernel of a board row ("" when not given):
// the arm64 boards share Debian's linux-image-arm64, so its modules.
func (o options) kernelDir(board string) string {
	if board == "qemu-arm64" || board == "rpi64" {
		return o.kernelARM64
	}
	return o.kernel
}

func main() {
	var o options
	flag.StringVar(&o.budget, "budget", "size-budget/budget.txt", "budget file")
	flag.StringVar(&o.kernel, "kernel", "", "fetched qemu-x86_64 kernel dir (adds the board initramfs row)")
	flag.StringVar(&o.kernelARM64, "kernel-arm64", "", "fetched qemu-arm64 kernel dir (adds the qemu-arm64 and rpi64 board initramfs rows: the same kernel package)")
	flag.IntVar(&o.top, "top", 15, "packages to list")
	flag.Parse()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "size-budget: %v\n", err)
		os.Exit(1)
	}
}

func run(o options, w io.Writer) error {
	f, err := os.Open(o.budget)
	if err != nil {
		return err
	}
	budget, err := parseBudget(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.budget, err)
	}
	if o.work, err = os.MkdirTemp("", "size-budget"); err != nil {
		return err
	}
	defer os.RemoveAll(o.work)

	var rows []row
	for _, t := range targets {
		r, err := measure(o, t)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	for _, b := range boardRows {
		if o.kernelDir(b.board) == "" {
			continue
		}
		r, err := measureBoard(o, b)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	over := printTable(w, rows, budget)
	full, nohub, err := printPackages(w, o)
	if err != nil {
		return err
	}
	over = append(over, banned(w, nohub)...)
	over = append(over, bannedSymbols(w, full)...)
	if len(over) > 0 {
		return fmt.Errorf("over budget: %s (see README: raising a budget)", strings.Join(over, ", "))
	}
	return nil
}

// row is one measured figure.
type row struct {
	variant, arch, figure string
	bytes                 int64
}

func (r row) key() string { return r.variant + " " + r.arch + " " + r.figure }

// parseBudget reads "variant arch figure bytes" lines; # starts a comment.
func parseBudget(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want \"variant arch figure bytes\", got %q", n, sc.Text())
		}
		v, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("line %d: bad byte count %q", n, f[3])
		}
		out[strings.Join(f[:3], " ")] = v
	}
	return out, sc.Err()
}

// measure builds t and returns its raw, xz and initramfs sizes.
func measure(o options, t target) ([]row, error) {
	bin := filepath.Join(o.work, t.variant+"-"+t.arch)
	if err := goBuild(bin, t, true); err != nil {
		return nil, err
	}
	raw, err := fileSize(bin)
	if err != nil {
		return nil, err
	}
	xzSize, err := xzSize(bin)
	if err != nil {
		return nil, err
	}
	// The binary alone, packed as for its arch's board kernel: with the
	// xz BCJ filter that kernel's config builds (mkinitrd's bcjFor).
	var kernel []string
	if k := o.kernelOf(t.arch); k != "" {
		kernel = []string{"-kernel", k}
	}
	initrd := bin + ".initrd"
	if err := mkinitrd(o, bin, initrd, kernel); err != nil {
		return nil, err
	}
	ir, err := fileSize(initrd)
	if err != nil {
		return nil, err
	}
	return []row{{t.variant, t.arch, "raw", raw}, {t.variant, t.arch, "xz", xzSize}, {t.variant, t.arch, "initramfs", ir}}, nil
}

// measureBoard returns the size of a board's initramfs with its modules.
func measureBoard(o options, b boardRow) (row, error) {
	bin := filepath.Join(o.work, "full-"+b.arch)
	initrd := bin + "." + b.board + ".initrd"
	if err := mkinitrd(o, bin, initrd, []string{"-board", b.board, "-kernel", o.kernelDir(b.board)}); err != nil {
		return row{}, err
	}
	n, err := fileSize(initrd)
	return row{"board", b.board, "initramfs", n}, err
}

// goBuild builds t as it ships, or with symbols and line tables (not
// shipped) for the per-package figures.
func goBuild(out string, t target, shipped bool) error {
	b := buildflags.Build{Arch: t.arch, Tags: t.tags(), Out: out,
		LDFlags: "-X pantavisor/lib/buildinfo.Version=size-gate", KeepLines: !shipped}
	if shipped {
		b.LDFlags = "-s -w " + b.LDFlags
	}
	if err := b.Run(); err != nil {
		return fmt.Errorf("building %s/%s: %w", t.variant, t.arch, err)
	}
	return nil
}

// xzSize compresses with the xz tool at the settings the kernel accepts.
func xzSize(file string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := xzLen(f)
	if err != nil {
		return 0, fmt.Errorf("xz %s: %w", file, err)
	}
	return n, nil
}

// xzLen returns the xz size of what r holds, at the settings of xzSize.
func xzLen(r io.Reader) (int64, error) {
	cmd := exec.Command("xz", "-9e", "--check=crc32", "--lzma2=dict=1MiB", "-c")
	cmd.Stdin = r
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%w (make deps installs xz-utils)", err)
	}
	return int64(len(out)), nil
}

// mkinitrd runs the real initramfs builder; applet names come from the
// amd64 build, which runs on the host.
func mkinitrd(o options, bin, out string, extra []string) error {
	applets := filepath.Join(o.work, "applets.txt")
	if _, err := os.Stat(applets); errors.Is(err, os.ErrNotExist) {
		list, err := exec.Command(filepath.Join(o.work, "full-amd64"), "--list").Output()
		if err != nil {
			return fmt.Errorf("listing applets: %w", err)
		}
		if err := os.WriteFile(applets, list, 0o644); err != nil {
			return err
		}
	}
	args := append([]string{"run", "./mkinitrd", "-binary", bin, "-applets", applets, "-o", out}, extra...)
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("mkinitrd for %s: %v\n%s", bin, err, b)
	}
	return nil
}

func fileSize(name string) (int64, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// printTable prints every figure against its budget and returns the keys of
// those over budget (or without one).
func printTable(w io.Writer, rows []row, budget map[string]int64) []string {
	var over []string
	fmt.Fprintf(w, "%-7s %-12s %-9s %10s %10s %10s %8s\n", "variant", "arch", "figure", "bytes", "budget", "headroom", "")
	for _, r := range rows {
		b, ok := budget[r.key()]
		status := "ok"
		head := ""
		switch {
		case !ok:
			status = "NO BUDGET"
			over = append(over, r.key()+" has no budget")
		case r.bytes > b:
			status = "OVER"
			over = append(over, fmt.Sprintf("%s %d > %d", r.key(), r.bytes, b))
		}
		if ok {
			head = fmt.Sprintf("%d (%.1f%%)", b-r.bytes, 100*float64(b-r.bytes)/float64(b))
		}
		fmt.Fprintf(w, "%-7s %-12s %-9s %10d %10d %18s %s\n", r.variant, r.arch, r.figure, r.bytes, b, head, status)
	}
	return over
}

// printPackages lists the packages costing the most in the unstripped
// amd64 full build, with the xz estimate of each and what nohub saves on
// each. The estimates do not add up to the binary's xz size: a package
// compressed alone has no shared dictionary, and .gopclntab (line tables,
// a third of the binary) is not in any package's symbols.
// It returns the full build's symbols and the nohub build's bytes by
// package.
func printPackages(w io.Writer, o options) ([]elf.Symbol, map[string]int64, error) {
	full, err := symbolTable(o, target{"full", "amd64"})
	if err != nil {
		return nil, nil, err
	}
	nohub, err := symbolTable(o, target{"nohub", "amd64"})
	if err != nil {
		return nil, nil, err
	}
	sizes, nohubSizes := sumByPackage(full.syms, full.sections), sumByPackage(nohub.syms, nohub.sections)
	type pkg struct {
		name string
		size int64
	}
	var ps []pkg
	var total int64
	for n, s := range sizes {
		ps = append(ps, pkg{n, s})
		total += s
	}
	sort.Slice(ps, func(i, j int) bool {
		return ps[i].size > ps[j].size || ps[i].size == ps[j].size && ps[i].name < ps[j].name
	})
	top := map[string]bool{}
	for i := 0; i < o.top && i < len(ps); i++ {
		top[ps[i].name] = true
	}
	data, err := symbolBytes(full.syms, full.sections, top)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(w, "\ntop %d packages by symbol size (amd64 full, unstripped; %d bytes of symbols in all)\n", o.top, total)
	fmt.Fprintf(w, "%10s %10s %10s  %s\n", "bytes", "xz (est)", "nohub", "package")
	for i, p := range ps {
		if i == o.top {
			break
		}
		x, err := xzLen(bytes.NewReader(data[p.name]))
		if err != nil {
			return nil, nil, fmt.Errorf("xz of %s: %w", p.name, err)
		}
		fmt.Fprintf(w, "%10d %10d %+10d  %s\n", p.size, x, nohubSizes[p.name]-p.size, p.name)
	}
	return full.syms, nohubSizes, nil
}

// bannedPrefixes are symbols kept out of the full binary: package net's
// dialer and resolver, about 150 KB of symbols (lib/tcpdial dials).
var bannedPrefixes = []string{"net.(*Dialer).", "net.(*Resolver)."}

// bannedSymbols prints and returns the banned prefixes full links.
func bannedSymbols(w io.Writer, syms []elf.Symbol) []string {
	var over []string
	for _, p := range bannedPrefixes {
		for _, s := range syms {
			if strings.HasPrefix(s.Name, p) {
				fmt.Fprintf(w, "full links %s (%s...): find the caller with go build -ldflags=-dumpdep\n", s.Name, p)
				over = append(over, "full links "+p)
				break
			}
		}
	}
	return over
}

// bannedPackages are kept out of the nohub binary (README "Size budget"):
// fmt's printer and reflect (lib/printf formats), flag (lib/cli parses),
// vishvananda/netns (lib/rtnl.Netns), math/big (lib/pubkey's own
// arithmetic). An import that remains (compress/flate imports fmt,
// crypto/rand math/big) still links a package's init: up to bannedSlack
// bytes.
var bannedPackages = []string{"fmt", "reflect", "flag", "github.com/vishvananda/netns", "math/big"}

const bannedSlack = 1024

// banned prints and returns the banned packages nohub links more of than
// their init.
func banned(w io.Writer, nohub map[string]int64) []string {
	var over []string
	for _, p := range bannedPackages {
		if n := nohub[p]; n > bannedSlack {
			fmt.Fprintf(w, "nohub links %d bytes of %s (more than its init): find the caller with go build -tags nohub -ldflags=-dumpdep\n", n, p)
			over = append(over, "nohub links "+p)
		}
	}
	return over
}

// symtab is the symbol table of an unstripped build.
type symtab struct {
	syms     []elf.Symbol
	sections []*elf.Section
}

// symbolTable builds t unstripped and reads its symbols and sections (the
// sections' data is read into memory, so the file is closed on return).
func symbolTable(o options, t target) (symtab, error) {
	bin := filepath.Join(o.work, "unstripped-"+t.variant)
	if err := goBuild(bin, t, false); err != nil {
		return symtab{}, err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return symtab{}, err
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return symtab{}, fmt.Errorf("%s: %w", bin, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return symtab{}, fmt.Errorf("reading symbols of %s: %w", bin, err)
	}
	return symtab{syms, f.Sections}, nil
}

// inFile reports whether sym takes file space: it has a size and lies in a
// real section that is not NOBITS (.bss, .noptrbss).
func inFile(sym elf.Symbol, sections []*elf.Section) bool {
	i := int(sym.Section)
	return sym.Size > 0 && i > 0 && i < len(sections) && sections[i].Type != elf.SHT_NOBITS
}

// sumByPackage adds symbol sizes per package (what `go tool nm -size`
// lists, minus symbols that take no file space: a zero-initialised 32 MiB
// buffer in crypto/internal/fips140/drbg would otherwise top the list
// while costing nothing in the file).
func sumByPackage(syms []elf.Symbol, sections []*elf.Section) map[string]int64 {
	out := map[string]int64{}
	for _, sym := range syms {
		if inFile(sym, sections) {
			out[symbolPackage(sym.Name)] += int64(sym.Size)
		}
	}
	return out
}

// symbolBytes returns, for each package in pkgs, the file bytes of its
// symbols concatenated in symbol table order.
func symbolBytes(syms []elf.Symbol, sections []*elf.Section, pkgs map[string]bool) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, sym := range syms {
		if !inFile(sym, sections) || !pkgs[symbolPackage(sym.Name)] {
			continue
		}
		s := sections[sym.Section]
		if sym.Value < s.Addr || sym.Value-s.Addr+sym.Size > s.Size {
			return nil, fmt.Errorf("symbol %s at %#x+%d is outside its section %s", sym.Name, sym.Value, sym.Size, s.Name)
		}
		buf := make([]byte, sym.Size)
		if _, err := s.ReadAt(buf, int64(sym.Value-s.Addr)); err != nil {
			return nil, fmt.Errorf("reading symbol %s: %w", sym.Name, err)
		}
		p := symbolPackage(sym.Name)
		out[p] = append(out[p], buf...)
	}
	return out, nil
}

// symbolPackage returns the import path a symbol belongs to:
// "pantavisor/lib/kmod.(*Deps).Order" → "pantavisor/lib/kmod".
func symbolPackage(sym string) string {
	if strings.HasPrefix(sym, "type:") || strings.HasPrefix(sym, "go:") || strings.HasPrefix(sym, "runtime.") && strings.Contains(sym, "..") {
		return "(type data and runtime tables)"
	}
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return "(other)"
	}
	return sym[:slash+1+dot]
}
