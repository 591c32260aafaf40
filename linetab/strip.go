package linetab

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
)

// Stats says what Strip removed, in bytes of .gopclntab.
type Stats struct {
	Funcs   int // functions whose position or inlining tables were cleared
	Tables  int // bytes of pc-value tables zeroed (no kept table shares them)
	FileTab int // bytes of cutab and filetab zeroed
	Inline  int // bytes of inlining trees zeroed
}

// tree is a function's inlining tree in funcdata, as an address and its
// length: one 16-byte entry per index its index table holds.
type tree struct{ addr, n uint64 }

// Strip removes what only tracebacks read from the Go binary bin, in place:
//  1. every function's pcfile and pcln offsets become 0 ("no table"), and
//     so does its inlining index (pcdata 2), and its inlining tree
//     (funcdata 3) becomes ^0 ("none"): tracebacks then print physical
//     frames only, with "?:0" for positions;
//  2. the bytes of those pc-value tables are zeroed, except where the
//     linker let a kept table (pcsp, the other pcdata) share them;
//  3. the trees' bytes are zeroed, unless other funcdata starts in them;
//  4. cutab and filetab, read only through pcfile, are zeroed.
//
// Every table is checked before anything is written: on error bin is
// unchanged. Stripping a stripped binary changes nothing.
func Strip(bin []byte) (Stats, error) {
	im, err := load(bin)
	if err != nil {
		return Stats{}, err
	}
	keep := make([]bool, len(im.pctab))
	drop := make([]bool, len(im.pctab))
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
	var trees []tree
	var others []uint64 // where other funcdata start
	for i := range im.nfunc {
		f, _ := im.fn(i) // load checked every function
		np := int(le.Uint32(f[funcNPCData:]))
		_, err := mark(keep, le.Uint32(f[funcPCSP:]))
		for k := 0; err == nil && k < np; k++ {
			if k != pcdataInlTreeIndex {
				_, err = mark(keep, pcdata(f, k))
			}
		}
		for _, off := range []uint32{le.Uint32(f[funcPCFile:]), le.Uint32(f[funcPCLn:])} {
			if err == nil {
				_, err = mark(drop, off)
			}
		}
		var maxIndex int32
		if err == nil {
			maxIndex, err = mark(drop, pcdata(f, pcdataInlTreeIndex))
		}
		if err != nil {
			return Stats{}, err
		}
		for k := range int(f[funcNFuncData]) {
			off := le.Uint32(f[funcSize+4*np+4*k:])
			switch {
			case off == ^uint32(0):
			case k == funcdataInlTree && maxIndex >= 0:
				trees = append(trees, tree{im.gofunc + uint64(off), inlinedCallSize * uint64(maxIndex+1)})
			case k != funcdataInlTree:
				others = append(others, im.gofunc+uint64(off))
			}
		}
	}
	slices.Sort(others)

	var st Stats
	for i := range im.nfunc {
		f, _ := im.fn(i)
		np := int(le.Uint32(f[funcNPCData:]))
		file, line := clear32(f[funcPCFile:]), clear32(f[funcPCLn:])
		changed := file || line
		if np > pcdataInlTreeIndex && clear32(f[funcSize+4*pcdataInlTreeIndex:]) {
			changed = true
		}
		if int(f[funcNFuncData]) > funcdataInlTree {
			if fd := f[funcSize+4*np+4*funcdataInlTree:]; le.Uint32(fd) != ^uint32(0) {
				le.PutUint32(fd, ^uint32(0))
				changed = true
			}
		}
		if changed {
			st.Funcs++
		}
	}
	st.Tables = zero(im.pctab, func(i int) bool { return drop[i] && !keep[i] })
	for _, tr := range trees {
		j, _ := slices.BinarySearch(others, tr.addr)
		if j < len(others) && others[j] < tr.addr+tr.n {
			continue // shared with other funcdata: left as it is
		}
		if b := im.read(tr.addr, tr.n); b != nil {
			st.Inline += zero(b, nil)
		}
	}
	st.FileTab = zero(im.cutab, nil) + zero(im.filetab, nil)
	return st, nil
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
	st, err := Strip(bin)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", in, err)
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, bin, fi.Mode().Perm()); err != nil {
		return Stats{}, err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return Stats{}, err
	}
	return st, nil
}
