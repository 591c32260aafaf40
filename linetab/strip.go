package linetab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
)

// Stats says what Strip removed, in bytes of .gopclntab.
type Stats struct {
	Funcs   int // functions whose tables were cleared
	Tables  int // bytes of pc-value tables zeroed (no kept table shares them)
	FileTab int // bytes of cutab and filetab zeroed
	Inline  int // bytes of inlining trees zeroed
	Args    int // bytes of argument layouts and their liveness zeroed
	Saved   int // bytes the file got shorter by (compact)
}

// The runtime's table indexes Strip drops (internal/abi/symtab.go), and
// the argument layout's format (internal/abi/type.go, TraceArgs*).
const (
	pcdataArgLiveIndex  = 3
	funcdataArgInfo     = 5
	funcdataArgLiveInfo = 6
	argsMaxLen          = 171 // TraceArgsMaxLen
	argsEndSeq          = 0xff
	argsOneByteOps      = 0xfb // 0xfb-0xfe take one byte, others an offset and a size
)

// droppedPCData and droppedFuncData are the tables only tracebacks read.
var (
	droppedPCData   = []int{pcdataInlTreeIndex, pcdataArgLiveIndex}
	droppedFuncData = []int{funcdataInlTree, funcdataArgInfo, funcdataArgLiveInfo}
)

// span is a dropped funcdata blob: its address, length and kind.
type span struct {
	addr, n uint64
	kind    int
}

// Strip returns bin without what only tracebacks read:
//  1. every function's pcfile and pcln offsets become 0 ("no table"), as
//     do its inlining index (pcdata 2) and argument liveness index (3),
//     and its inlining tree (funcdata 3), argument layout (5) and its
//     liveness (6) become ^0 ("none"): tracebacks then print physical
//     frames only, with "?:0" for positions and "()" for arguments;
//  2. the bytes of those pc-value tables are zeroed, except where the
//     linker let a kept table (pcsp, the other pcdata) share them;
//  3. the bytes of those funcdata are zeroed, unless kept funcdata (stack
//     maps, open-coded defers, wrapper info) starts in them;
//  4. cutab and filetab, read only through pcfile, are zeroed;
//  5. compact takes the dropped pc-value tables, cutab and filetab out of
//     the file.
//
// bin itself is not changed. Every table is checked before anything is
// written, and the result against the input: on error no file is
// returned. Stripping a stripped binary gives the same bytes.
func Strip(bin []byte) ([]byte, Stats, error) {
	bin = bytes.Clone(bin)
	im, err := load(bin)
	if err != nil {
		return nil, Stats{}, err
	}
	p, err := planStrip(im)
	if err != nil {
		return nil, Stats{}, err
	}
	st := Stats{Funcs: clearOffsets(im)}
	st.Tables = zero(im.pctab, func(i int) bool { return p.drop[i] && !p.keep[i] })
	for _, sp := range p.spans {
		j, _ := slices.BinarySearch(p.kept, sp.addr)
		if j < len(p.kept) && p.kept[j] < sp.addr+sp.n {
			continue // kept funcdata starts in it: left as it is
		}
		b := im.read(sp.addr, sp.n)
		if sp.kind == funcdataInlTree {
			st.Inline += zero(b, nil)
		} else {
			st.Args += zero(b, nil)
		}
	}
	st.FileTab = zero(im.cutab, nil) + zero(im.filetab, nil)
	out, err := compact(im, p.keep)
	if err != nil {
		return nil, Stats{}, err
	}
	st.Saved = len(bin) - len(out)
	return out, st, nil
}

// stripPlan is what Strip drops and keeps: pctab bytes of kept and of
// dropped tables, the dropped funcdata, and where kept funcdata start
// (sorted).
type stripPlan struct {
	keep, drop []bool
	spans      []span
	kept       []uint64
}

// planStrip walks every function's tables, checking each one, and
// changes nothing.
func planStrip(im *image) (*stripPlan, error) {
	p := &stripPlan{keep: make([]bool, len(im.pctab)), drop: make([]bool, len(im.pctab))}
	mark := func(m []bool, off uint32) (int32, error) {
		if off == 0 {
			return -1, nil
		}
		n, max := im.scan(off)
		if n == 0 {
			return -1, fmt.Errorf("%w: pc-value table at %d runs past pctab", ErrFormat, off)
		}
		for i := range n {
			m[uint64(off)+i] = true
		}
		return max, nil
	}
	le := binary.LittleEndian
	for i := range im.nfunc {
		f, _ := im.fn(i) // load checked every function
		np := int(le.Uint32(f[funcNPCData:]))
		_, err := mark(p.keep, le.Uint32(f[funcPCSP:]))
		var max [pcdataArgLiveIndex + 1]int32 // largest value of each dropped pcdata
		for k := 0; err == nil && k < np; k++ {
			if slices.Contains(droppedPCData, k) {
				max[k], err = mark(p.drop, pcdata(f, k))
			} else {
				_, err = mark(p.keep, pcdata(f, k))
			}
		}
		for _, off := range []uint32{le.Uint32(f[funcPCFile:]), le.Uint32(f[funcPCLn:])} {
			if err == nil {
				_, err = mark(p.drop, off)
			}
		}
		if err != nil {
			return nil, err
		}
		for k := range int(f[funcNFuncData]) {
			off := le.Uint32(f[funcSize+4*np+4*k:])
			if off == ^uint32(0) {
				continue
			}
			addr := im.gofunc + uint64(off)
			if !slices.Contains(droppedFuncData, k) {
				p.kept = append(p.kept, addr)
				continue
			}
			var n uint64
			switch k {
			case funcdataInlTree: // an entry per index
				n = inlinedCallSize * uint64(max[pcdataInlTreeIndex]+1)
			case funcdataArgLiveInfo: // a start offset, then bitmaps at each index
				n = uint64(max[pcdataArgLiveIndex]+1) + 1
			case funcdataArgInfo:
				if n = im.argsLen(addr); n == 0 {
					return nil, fmt.Errorf("%w: function %d's argument layout has no end", ErrFormat, i)
				}
			}
			p.spans = append(p.spans, span{addr, n, k})
		}
	}
	slices.Sort(p.kept)
	return p, nil
}

// clearOffsets points every function's dropped tables at "none" and
// returns how many functions it changed.
func clearOffsets(im *image) int {
	le := binary.LittleEndian
	changed := 0
	for i := range im.nfunc {
		f, _ := im.fn(i)
		np := int(le.Uint32(f[funcNPCData:]))
		file, line := clear32(f[funcPCFile:]), clear32(f[funcPCLn:])
		c := file || line
		for _, k := range droppedPCData {
			if k < np && clear32(f[funcSize+4*k:]) {
				c = true
			}
		}
		for _, k := range droppedFuncData {
			if k >= int(f[funcNFuncData]) {
				continue
			}
			if fd := f[funcSize+4*np+4*k:]; le.Uint32(fd) != ^uint32(0) {
				le.PutUint32(fd, ^uint32(0))
				c = true
			}
		}
		if c {
			changed++
		}
	}
	return changed
}

// argsLen returns the length of the argument layout at addr (the ops
// runtime.printArgs reads, up to the end op), 0 when it has no end.
func (im *image) argsLen(addr uint64) uint64 {
	for n := uint64(0); n < argsMaxLen; {
		b := im.read(addr+n, 1)
		switch {
		case b == nil:
			return 0
		case b[0] == argsEndSeq:
			return n + 1
		case b[0] >= argsOneByteOps:
			n++
		default:
			n += 2
		}
	}
	return 0
}

// clear32 sets a little-endian uint32 to 0 and says whether it was not.
func clear32(b []byte) bool {
	if binary.LittleEndian.Uint32(b) == 0 {
		return false
	}
	binary.LittleEndian.PutUint32(b, 0)
	return true
}

// zero clears the bytes of b that pick allows (all with a nil pick) and
// returns how many were not zero already.
func zero(b []byte, pick func(int) bool) int {
	n := 0
	for i := range b {
		if b[i] != 0 && (pick == nil || pick(i)) {
			b[i] = 0
			n++
		}
	}
	return n
}

// StripFile strips the binary at in and writes the result to out (which
// may be in) with in's permissions, through a temporary file and a rename.
func StripFile(in, out string) (Stats, error) {
	bin, err := os.ReadFile(in)
	if err != nil {
		return Stats{}, err
	}
	fi, err := os.Stat(in)
	if err != nil {
		return Stats{}, err
	}
	stripped, st, err := Strip(bin)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", in, err)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, stripped, fi.Mode().Perm()); err != nil {
		return Stats{}, err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return Stats{}, err
	}
	return st, nil
}
