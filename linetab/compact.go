package linetab

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// moveAlign keeps every symbol after pctab at its alignment when they
// move: a multiple of the largest one there (.typelink's 32).
const moveAlign = 64

// moduledata words read and patched (runtime/symtab.go, Go 1.26), at the
// same index on 32- and 64-bit: a slice is three words (pointer, length,
// capacity).
const (
	mdText       = 22
	mdCutab      = 4
	mdFiletab    = 7
	mdPctab      = 10
	mdPclntable  = 13
	mdFtab       = 16
	mdFindfunc   = 19
	mdGofunc     = 40
	mdEpclntab   = 41
	mdTypelinks  = 45
	mdItablinks  = 48
	mdWordsKnown = 51
)

// elfLayout reads and writes the ELF header fields compact changes, for
// both classes (32-bit arm, 64-bit).
type elfLayout struct {
	bin   []byte
	is64  bool
	phoff uint64
	phnum int
	shoff uint64
	shnum int
}

func newELFLayout(bin []byte) *elfLayout {
	l := &elfLayout{bin: bin, is64: elf.Class(bin[elf.EI_CLASS]) == elf.ELFCLASS64}
	le := binary.LittleEndian
	if l.is64 {
		l.phoff, l.shoff = le.Uint64(bin[32:]), le.Uint64(bin[40:])
		l.phnum, l.shnum = int(le.Uint16(bin[56:])), int(le.Uint16(bin[60:]))
	} else {
		l.phoff, l.shoff = uint64(le.Uint32(bin[28:])), uint64(le.Uint32(bin[32:]))
		l.phnum, l.shnum = int(le.Uint16(bin[44:])), int(le.Uint16(bin[48:]))
	}
	return l
}

// field reads the address-sized field at off; lower subtracts by from it.
func (l *elfLayout) field(off uint64) uint64 {
	if l.is64 {
		return binary.LittleEndian.Uint64(l.bin[off:])
	}
	return uint64(binary.LittleEndian.Uint32(l.bin[off:]))
}

func (l *elfLayout) lower(off, by uint64) {
	if l.is64 {
		binary.LittleEndian.PutUint64(l.bin[off:], l.field(off)-by)
	} else {
		binary.LittleEndian.PutUint32(l.bin[off:], uint32(l.field(off)-by))
	}
}

// Program and section header field offsets: offset, vaddr, filesz,
// memsz, align (program); addr, offset, size (section).
func (l *elfLayout) ph(i int) (off, vaddr, filesz, memsz, align uint64) {
	if l.is64 {
		b := l.phoff + uint64(i)*56
		return b + 8, b + 16, b + 32, b + 40, b + 48
	}
	b := l.phoff + uint64(i)*32
	return b + 4, b + 8, b + 16, b + 20, b + 28
}

func (l *elfLayout) sh(i int) (addr, off, size uint64) {
	if l.is64 {
		b := l.shoff + uint64(i)*64
		return b + 16, b + 24, b + 32
	}
	b := l.shoff + uint64(i)*40
	return b + 12, b + 16, b + 20
}

// compact removes the dropped bytes from the file, where Strip has zeroed
// them, so the binary is smaller on disk and in RAM too:
//  1. pctab keeps the bytes of kept tables only, every offset into it
//     remapped; cutab and filetab become empty;
//  2. the rest of .gopclntab (functab, funcdata, findfunctab) and the
//     sections after it in its segment move down by what that saved,
//     rounded down to moveAlign;
//  3. the next segments move down in the file (not in memory) by that
//     rounded down to their alignment;
//  4. the pcHeader, the runtime's moduledata and the ELF headers are
//     patched to match, each old value checked to be what it must be;
//  5. the result is loaded again and every function's kept tables
//     compared with the input's.
//
// It returns the new file, or an error and no file.
func compact(im *image, keep []bool) ([]byte, error) {
	keep[0] = true // offset 0 means "no table": pctab starts with a byte
	shift := make([]uint32, len(im.pctab)+1)
	var pctab []byte
	for i, k := range keep {
		shift[i+1] = shift[i]
		if k {
			pctab = append(pctab, im.pctab[i])
		} else {
			shift[i+1]++
		}
	}

	// Section-relative offsets: cutab, filetab and pctab now share one
	// start; the part from pclntable on moves down by move.
	sect := im.pcln
	cuOff := uint64(len(sect) - len(im.funcs) - len(im.pctab) - len(im.filetab) - len(im.cutab))
	pclnOff := uint64(len(sect) - len(im.funcs))
	move := (pclnOff - cuOff - uint64(len(pctab))) / moveAlign * moveAlign
	pctabLen := pclnOff - cuOff - move // the kept bytes, then zeroes
	newSect := make([]byte, 0, uint64(len(sect))-move)
	newSect = append(newSect, sect[:cuOff]...)
	newSect = append(newSect, pctab...)
	newSect = append(newSect, make([]byte, pctabLen-uint64(len(pctab)))...)
	newSect = append(newSect, sect[pclnOff:]...)

	le := binary.LittleEndian
	hdr := newSect[8:]
	putWord(hdr, im.ptrSize, 1, 0) // nfiles
	putWord(hdr, im.ptrSize, 5, cuOff)
	putWord(hdr, im.ptrSize, 6, cuOff)
	putWord(hdr, im.ptrSize, 7, pclnOff-move)

	nt := *im.table
	nt.funcs = newSect[pclnOff-move:]
	remap := func(b []byte) error {
		off := le.Uint32(b)
		if off == 0 {
			return nil
		}
		if int(off) >= len(keep) || !keep[off] {
			return fmt.Errorf("%w: a kept table at %d lies in dropped bytes", ErrFormat, off)
		}
		le.PutUint32(b, off-shift[off])
		return nil
	}
	for i := range nt.nfunc {
		f, _ := nt.fn(i)
		if err := remap(f[funcPCSP:]); err != nil {
			return nil, err
		}
		for k := range int(le.Uint32(f[funcNPCData:])) {
			if err := remap(f[funcSize+4*k:]); err != nil {
				return nil, err
			}
		}
	}

	out, err := relayout(im, newSect, move)
	if err != nil {
		return nil, err
	}
	if err := patchModuledata(im, out, cuOff, pctabLen, pclnOff, move); err != nil {
		return nil, err
	}
	return out, checkCompact(im, out)
}

// relayout builds the new file: .gopclntab replaced by sect (move bytes
// shorter), the rest of its segment moved down by move in the file and
// in memory, the later segments moved down in the file by move rounded
// down to their alignment; program and section headers to match.
func relayout(im *image, sect []byte, move uint64) ([]byte, error) {
	l := newELFLayout(im.bin)
	sectStart := im.sectOff
	sectEnd := sectStart + uint64(len(im.pcln))
	var segStart, segEnd uint64
	next := uint64(len(im.bin)) // where the next segment's data starts
	for i := range l.phnum {
		off, _, filesz, _, _ := l.ph(i)
		if o, n := l.field(off), l.field(filesz); o <= sectStart && sectEnd <= o+n {
			segStart, segEnd = o, o+n
		}
	}
	if segEnd == 0 {
		return nil, fmt.Errorf("%w: no segment holds .gopclntab", ErrFormat)
	}
	align := uint64(4096)
	for i := range l.phnum {
		off, _, _, _, al := l.ph(i)
		if o := l.field(off); o >= segEnd {
			next, align = min(next, o), max(align, l.field(al))
		}
	}
	fileMove := move / align * align
	if l.phoff >= next {
		return nil, fmt.Errorf("%w: program headers after the data", ErrFormat)
	}

	out := make([]byte, 0, uint64(len(im.bin))-fileMove)
	out = append(out, im.bin[:sectStart]...)
	out = append(out, sect...)
	out = append(out, im.bin[sectEnd:segEnd]...)
	out = append(out, make([]byte, next-fileMove-uint64(len(out)))...)
	out = append(out, im.bin[next:]...)

	nl := newELFLayout(out)
	if nl.shoff >= next {
		if nl.is64 {
			nl.lower(40, fileMove)
		} else {
			nl.lower(32, fileMove)
		}
	}
	nl = newELFLayout(out)
	// relocate moves a header whose data moved: after .gopclntab in its
	// segment (in memory and in the file), or in a later segment (in the
	// file only).
	relocate := func(off, addr uint64) {
		switch o := nl.field(off); {
		case o >= sectEnd && o < segEnd:
			nl.lower(off, move)
			nl.lower(addr, move)
		case o >= next:
			nl.lower(off, fileMove)
		}
	}
	for i := range nl.phnum {
		off, vaddr, filesz, memsz, _ := nl.ph(i)
		if nl.field(off) == segStart && nl.field(filesz) == segEnd-segStart {
			nl.lower(filesz, move)
			nl.lower(memsz, move)
			continue
		}
		relocate(off, vaddr)
	}
	for i := range nl.shnum {
		addr, off, size := nl.sh(i)
		if nl.field(off) == sectStart {
			nl.lower(size, move)
			continue
		}
		relocate(off, addr)
	}
	return out, nil
}

// patchModuledata points the runtime's moduledata in out at the new
// layout. Each pointer it moves must hold the old address it expects.
func patchModuledata(im *image, out []byte, cuOff, pctabLen, pclnOff, move uint64) error {
	f, err := elf.NewFile(bytes.NewReader(out))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	md := moduledata(f, out, im.table)
	if md == nil {
		return fmt.Errorf("%w: the runtime's moduledata is in neither .go.module nor .noptrdata", ErrFormat)
	}
	ps := im.ptrSize
	get := func(i int) uint64 { return word(md, ps, i) }
	put := func(i int, v uint64) { putWord(md, ps, i, v) }
	base := im.sectAddr
	moved := func(i int, want uint64) error {
		if v := get(i); v != want {
			return fmt.Errorf("%w: moduledata word %d is %#x, want %#x", ErrFormat, i, v, want)
		}
		put(i, want-move)
		return nil
	}
	typelink, itablink := f.Section(".typelink"), f.Section(".itablink")
	for _, c := range []struct {
		word int
		want uint64
	}{
		{mdPclntable, base + pclnOff},
		{mdFtab, base + pclnOff},
		{mdGofunc, im.gofunc},
		{mdEpclntab, base + uint64(len(im.pcln))},
	} {
		if err := moved(c.word, c.want); err != nil {
			return err
		}
	}
	if v := get(mdFindfunc); v < base+pclnOff || v >= base+uint64(len(im.pcln)) {
		return fmt.Errorf("%w: moduledata findfunctab %#x outside .gopclntab", ErrFormat, v)
	}
	put(mdFindfunc, get(mdFindfunc)-move)
	for _, c := range []struct {
		word int
		sect *elf.Section
	}{{mdTypelinks, typelink}, {mdItablinks, itablink}} {
		if get(c.word+1) == 0 {
			continue // empty slice
		}
		// The section was moved already: its old address is move above.
		if c.sect == nil {
			return fmt.Errorf("%w: moduledata word %d points at a missing section", ErrFormat, c.word)
		}
		if err := moved(c.word, c.sect.Addr+move); err != nil {
			return err
		}
	}
	if get(mdCutab) != base+cuOff || get(mdFiletab) != base+cuOff+uint64(len(im.cutab)) ||
		get(mdPctab) != base+cuOff+uint64(len(im.cutab)+len(im.filetab)) || get(mdPctab+1) != uint64(len(im.pctab)) {
		return fmt.Errorf("%w: moduledata cutab, filetab and pctab are not where the pcHeader says", ErrFormat)
	}
	for _, w := range []int{mdCutab, mdFiletab} {
		put(w, base+cuOff)
		put(w+1, 0)
		put(w+2, 0)
	}
	put(mdPctab, base+cuOff)
	put(mdPctab+1, pctabLen)
	put(mdPctab+2, pctabLen)
	return nil
}

// checkCompact loads the compacted file and compares it with the input,
// function by function: entry, name, funcdata, and the bytes of its pcsp
// and pcdata tables.
func checkCompact(old *image, out []byte) error {
	im, err := load(out)
	if err != nil {
		return fmt.Errorf("compacted binary: %w", err)
	}
	if im.nfunc != old.nfunc || im.text != old.text || len(im.cutab)+len(im.filetab) != 0 {
		return fmt.Errorf("%w: compacted binary has %d functions at %#x, want %d at %#x", ErrFormat, im.nfunc, im.text, old.nfunc, old.text)
	}
	le := binary.LittleEndian
	same := func(a, b uint32) bool {
		if a == 0 || b == 0 {
			return a == b
		}
		na, _ := old.scan(a)
		nb, _ := im.scan(b)
		return na != 0 && na == nb && bytes.Equal(old.pctab[a:uint64(a)+na], im.pctab[b:uint64(b)+nb])
	}
	for i := range im.nfunc {
		f, _ := im.fn(i)
		g, _ := old.fn(i)
		np := le.Uint32(f[funcNPCData:])
		ok := im.entry(i) == old.entry(i) && len(f) == len(g) &&
			bytes.Equal(f[funcSize+4*np:], g[funcSize+4*np:]) && // funcdata offsets
			same(le.Uint32(g[funcPCSP:]), le.Uint32(f[funcPCSP:]))
		for k := 0; ok && k < int(np); k++ {
			ok = same(pcdata(g, k), pcdata(f, k))
		}
		if !ok || im.name(le.Uint32(f[funcNameOff:])) != old.name(le.Uint32(g[funcNameOff:])) {
			return fmt.Errorf("%w: compacted function %d differs", ErrFormat, i)
		}
	}
	return nil
}
