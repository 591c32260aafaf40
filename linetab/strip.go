package linetab

import (
	"encoding/binary"
	"fmt"
	"os"
)

// Stats says what Strip removed, in bytes of .gopclntab.
type Stats struct {
	Funcs   int // functions whose pcfile and pcln offsets were cleared
	Tables  int // bytes of pctab zeroed (tables no kept table shares)
	FileTab int // bytes of cutab and filetab zeroed
}

// Strip removes the file and line tables from the Go binary bin in place:
//  1. every function's pcfile and pcln offsets become 0 ("no table");
//  2. the bytes of those tables are zeroed, except where the linker let a
//     kept table (pcsp, any pcdata) share them;
//  3. cutab and filetab, read only through pcfile, are zeroed.
//
// Stripping a stripped binary changes nothing. On error bin is unchanged.
func Strip(bin []byte) (Stats, error) {
	t, err := parse(bin)
	if err != nil {
		return Stats{}, err
	}
	keep := make([]bool, len(t.pctab))
	drop := make([]bool, len(t.pctab))
	mark := func(m []bool, off uint32) error {
		if off == 0 {
			return nil
		}
		n := t.tableLen(off)
		if n == 0 {
			return fmt.Errorf("%w: pc-value table at %d runs past pctab", ErrFormat, off)
		}
		for i := range n {
			m[uint64(off)+i] = true
		}
		return nil
	}
	funcs := make([][]byte, t.nfunc)
	for i := range funcs {
		f, _ := t.fn(i) // parse checked every function
		funcs[i] = f
		le := binary.LittleEndian
		err := mark(keep, le.Uint32(f[funcPCSP:]))
		for k := 0; err == nil && k < int(le.Uint32(f[funcNPCData:])); k++ {
			err = mark(keep, pcdata(f, k))
		}
		if err == nil {
			err = mark(drop, le.Uint32(f[funcPCFile:]))
		}
		if err == nil {
			err = mark(drop, le.Uint32(f[funcPCLn:]))
		}
		if err != nil {
			return Stats{}, err
		}
	}
	var st Stats
	for _, f := range funcs {
		if binary.LittleEndian.Uint64(f[funcPCFile:]) != 0 {
			binary.LittleEndian.PutUint64(f[funcPCFile:], 0) // pcfile and pcln
			st.Funcs++
		}
	}
	for i := range t.pctab {
		if drop[i] && !keep[i] && t.pctab[i] != 0 {
			t.pctab[i] = 0
			st.Tables++
		}
	}
	for _, b := range [][]byte{t.cutab, t.filetab} {
		for i := range b {
			if b[i] != 0 {
				b[i] = 0
				st.FileTab++
			}
		}
	}
	return st, nil
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
