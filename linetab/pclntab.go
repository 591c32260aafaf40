// Package linetab removes from a Go binary's .gopclntab what only
// tracebacks read, the file, line, inlining and argument tables, and puts
// positions and inlined frames back into a traceback with the copy that
// has them.
//
// The runtime reads a function's pcfile and pcln tables only to print a
// position (runtime.funcline1); an offset of 0 there means "no table" and
// the traceback prints "?:0" with the function's name and pc offset, both
// kept. Its inlining tree (funcdata 3) and index (pcdata 2) only name the
// inlined calls at a pc, for tracebacks, runtime.Callers and FuncForPC;
// without them those see the physical function. The argument layout
// (funcdata 5, 6 and pcdata 3) serves runtime.printArgs alone; without it
// a frame prints "()". Stack unwinding (pcsp), GC stack maps, preemption
// points and function names are kept byte for byte. Strip zeroes what it
// drops, then takes the dropped pc-value tables and file names out of the
// file (compact); code and data do not move.
//
// The layout read here is Go 1.26's (pclntab magic 0xfffffff1, the _func
// and moduledata of runtime/runtime2.go and runtime/symtab.go), on
// little-endian ELF; anything else, a binary of another Go release
// included, is refused with an error, since a field moved there would
// make Strip zero what the runtime needs.
package linetab

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

const magic120 = 0xfffffff1

// goRelease is the Go release whose tables this package knows; a binary
// built by another is refused (check the files named above, then change
// it).
const goRelease = "go1.26"

// _func field offsets (runtime/runtime2.go) and sizes.
const (
	funcNameOff   = 4
	funcPCSP      = 16
	funcPCFile    = 20
	funcPCLn      = 24
	funcNPCData   = 28
	funcCUOffset  = 32
	funcNFuncData = 43
	funcSize      = 44
)

// ErrFormat is wrapped by every error about a binary this package cannot
// read: not ELF, no .gopclntab, another layout, or tables out of bounds.
var ErrFormat = errors.New("not a " + goRelease + " little-endian ELF binary with a readable .gopclntab")

// table is a binary's .gopclntab, cut into its parts, with the ELF facts
// the symbolizer needs.
type table struct {
	pcln      []byte // the whole section, from the pcHeader on
	ptrSize   int
	minLC     uint64 // pc quantum
	nfunc     int
	funcnames []byte
	cutab     []byte
	filetab   []byte
	pctab     []byte
	funcs     []byte // functab + _func structs (the runtime's pclntable)
	sectOff   uint64 // the section's offset in the file
	sectAddr  uint64 // and its address when loaded
}

// parse finds .gopclntab in an ELF image and checks its header.
func parse(bin []byte) (*table, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if f.ByteOrder != binary.LittleEndian {
		return nil, fmt.Errorf("%w: big-endian", ErrFormat)
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if v := bi.GoVersion; v != goRelease && !strings.HasPrefix(v, goRelease+".") && !strings.HasPrefix(v, goRelease+"rc") {
		return nil, fmt.Errorf("%w: built by %s, whose tables linetab does not know", ErrFormat, v)
	}
	s := f.Section(".gopclntab")
	if s == nil || s.Type == elf.SHT_NOBITS || s.Offset+s.Size > uint64(len(bin)) || s.Size < 8 {
		return nil, fmt.Errorf("%w: no .gopclntab section in the file", ErrFormat)
	}
	t := &table{pcln: bin[s.Offset : s.Offset+s.Size], sectOff: s.Offset, sectAddr: s.Addr}
	p := t.pcln
	if binary.LittleEndian.Uint32(p) != magic120 || p[4] != 0 || p[5] != 0 {
		return nil, fmt.Errorf("%w: pclntab magic %#x", ErrFormat, binary.LittleEndian.Uint32(p))
	}
	t.minLC, t.ptrSize = uint64(p[6]), int(p[7])
	if t.ptrSize != 4 && t.ptrSize != 8 || t.minLC == 0 || len(p) < 8+8*t.ptrSize {
		return nil, fmt.Errorf("%w: pclntab header (ptr size %d, pc quantum %d)", ErrFormat, t.ptrSize, t.minLC)
	}
	hdr := func(i int) uint64 { return word(p[8:], t.ptrSize, i) }
	// Header words: nfunc, nfiles, unused, then the offsets of funcnametab,
	// cutab, filetab, pctab and pclntable, in that order in the section.
	offs := []uint64{hdr(3), hdr(4), hdr(5), hdr(6), hdr(7), uint64(len(p))}
	for i := 1; i < len(offs); i++ {
		if offs[i-1] > offs[i] || offs[0] < uint64(8+8*t.ptrSize) {
			return nil, fmt.Errorf("%w: pclntab parts out of order", ErrFormat)
		}
	}
	t.funcnames, t.cutab, t.filetab = p[offs[0]:offs[1]], p[offs[1]:offs[2]], p[offs[2]:offs[3]]
	t.pctab, t.funcs = p[offs[3]:offs[4]], p[offs[4]:offs[5]]
	t.nfunc = int(hdr(0))
	if t.nfunc < 0 || uint64(t.nfunc+1)*8 > uint64(len(t.funcs)) {
		return nil, fmt.Errorf("%w: %d functions in a table of %d bytes", ErrFormat, t.nfunc, len(t.funcs))
	}
	for i := range t.nfunc {
		if _, err := t.fn(i); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// fn returns function i's _func struct with its pcdata and funcdata
// offsets, checked to lie in the table.
func (t *table) fn(i int) ([]byte, error) {
	off := uint64(binary.LittleEndian.Uint32(t.funcs[8*i+4:]))
	if off+funcSize > uint64(len(t.funcs)) {
		return nil, fmt.Errorf("%w: function %d at %d past the table's end", ErrFormat, i, off)
	}
	f := t.funcs[off:]
	n := funcSize + 4*uint64(binary.LittleEndian.Uint32(f[funcNPCData:])) + 4*uint64(f[funcNFuncData])
	if off+n > uint64(len(t.funcs)) {
		return nil, fmt.Errorf("%w: function %d's data past the table's end", ErrFormat, i)
	}
	return f[:n], nil
}

// entry returns function i's entry, as an offset from the start of text.
func (t *table) entry(i int) uint64 { return uint64(binary.LittleEndian.Uint32(t.funcs[8*i:])) }

// name returns the name at off in the function name table.
func (t *table) name(off uint32) string {
	if uint64(off) >= uint64(len(t.funcnames)) {
		return "?"
	}
	s := t.funcnames[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// pcdata returns the offset of function f's pcdata table k, 0 for none.
func pcdata(f []byte, k int) uint32 {
	if uint32(k) >= binary.LittleEndian.Uint32(f[funcNPCData:]) {
		return 0
	}
	return binary.LittleEndian.Uint32(f[funcSize+4*k:])
}

// pcvalue walks the pc-value table at off for a function entered at entry
// (an offset from text) and returns the value at pc, or -1 when the table
// is absent, does not cover pc, or is cut short. The encoding is the
// runtime's: pairs of a zig-zag value delta and a pc delta in quanta,
// starting from -1 at entry, ended by a zero value delta.
func (t *table) pcvalue(off uint32, entry, pc uint64) int32 {
	if off == 0 {
		return -1
	}
	val, start, end, ok := int32(-1), entry, entry, true
	p := uint64(off)
	for first := true; ok; first = false {
		var delta, pcd uint64
		if delta, p, ok = uvarint(t.pctab, p); !ok || delta == 0 && !first {
			return -1
		}
		if pcd, p, ok = uvarint(t.pctab, p); !ok {
			return -1
		}
		val += zigzag(delta)
		start, end = end, end+pcd*t.minLC
		if start <= pc && pc < end {
			return val
		}
	}
	return -1
}

// scan returns how many bytes the pc-value table at off takes (0 when it
// runs past pctab's end) and the largest value it holds.
func (t *table) scan(off uint32) (n uint64, max int32) {
	p, val, max := uint64(off), int32(-1), int32(-1)
	for first := true; ; first = false {
		delta, next, ok := uvarint(t.pctab, p)
		if !ok {
			return 0, -1
		}
		if delta == 0 && !first {
			return next - uint64(off), max
		}
		if _, p, ok = uvarint(t.pctab, next); !ok {
			return 0, -1
		}
		if val += zigzag(delta); val > max {
			max = val
		}
	}
}

// zigzag decodes a pc-value table's signed value delta.
func zigzag(d uint64) int32 {
	if d&1 != 0 {
		return int32(^(d >> 1))
	}
	return int32(d >> 1)
}

// word returns word i of b, a little-endian address of size bytes (4 or
// 8); putWord writes one.
func word(b []byte, size, i int) uint64 {
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return binary.LittleEndian.Uint64(b[8*i:])
}

func putWord(b []byte, size, i int, v uint64) {
	if size == 4 {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
}

// uvarint decodes an unsigned varint of b at p, returning the position
// after it; ok is false past b's end or on an overlong encoding.
func uvarint(b []byte, p uint64) (v, next uint64, ok bool) {
	if p >= uint64(len(b)) {
		return 0, p, false
	}
	v, n := binary.Uvarint(b[p:])
	if n <= 0 {
		return 0, p, false
	}
	return v, p + uint64(n), true
}
