package linetab

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Indexes of the runtime's tables (internal/abi/symtab.go).
const (
	pcdataInlTreeIndex = 2
	funcdataInlTree    = 3
	inlinedCallSize    = 16 // funcID, pad, nameOff, parentPc, startLine
)

// image is a loaded binary (for Strip and the Symbolizer): its pclntab,
// where text starts, and where the runtime keeps funcdata
// (moduledata.gofunc).
type image struct {
	*table
	elf    *elf.File
	bin    []byte
	text   uint64
	gofunc uint64
}

// load parses bin and reads text and gofunc from the runtime's
// moduledata.
func load(bin []byte) (*image, error) {
	t, err := parse(bin)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	im := &image{table: t, elf: f, bin: bin}
	if md := moduledata(f, bin, t); md != nil {
		im.text, im.gofunc = word(md, t.ptrSize, mdText), word(md, t.ptrSize, mdGofunc)
		return im, nil
	}
	return nil, fmt.Errorf("%w: the runtime's moduledata is in neither .go.module nor .noptrdata", ErrFormat)
}

// moduledata returns the runtime's moduledata in bin (in .go.module
// since Go 1.26, in .noptrdata before): the words that start with the
// pcHeader's address and funcnametab's, nil when there is none.
func moduledata(f *elf.File, bin []byte, t *table) []byte {
	names := t.sectAddr + uint64(len(t.pcln)-len(t.funcs)-len(t.pctab)-len(t.filetab)-len(t.cutab)-len(t.funcnames))
	for _, name := range []string{".go.module", ".noptrdata"} {
		s := f.Section(name)
		if s == nil || s.Offset+s.Size > uint64(len(bin)) {
			continue
		}
		data := bin[s.Offset : s.Offset+s.Size]
		for i := 0; i+mdWordsKnown*t.ptrSize <= len(data); i += t.ptrSize {
			if m := data[i:]; word(m, t.ptrSize, 0) == t.sectAddr && word(m, t.ptrSize, 1) == names {
				return m
			}
		}
	}
	return nil
}

// read returns n bytes at the loaded address addr, nil when no section
// of the file holds them.
func (im *image) read(addr, n uint64) []byte {
	for _, s := range im.elf.Sections {
		if s.Type == elf.SHT_NOBITS || addr < s.Addr || addr+n > s.Addr+s.Size {
			continue
		}
		off := s.Offset + addr - s.Addr
		if off+n <= uint64(len(im.bin)) {
			return im.bin[off : off+n]
		}
	}
	return nil
}

// frame is one source-level frame at a pc: a function, maybe inlined.
type frame struct {
	name string
	file string
	line int32
}

// frames returns the frames at pc (an offset from text) of function i,
// innermost first: the calls inlined there, then function i itself.
func (im *image) frames(i int, pc uint64) []frame {
	f, _ := im.fn(i) // load checked every function
	entry := im.entry(i)
	le := binary.LittleEndian
	tree, hasTree := uint64(0), false
	if f[funcNFuncData] > funcdataInlTree {
		np := le.Uint32(f[funcNPCData:])
		off := le.Uint32(f[funcSize+4*np+4*funcdataInlTree:])
		tree, hasTree = im.gofunc+uint64(off), off != ^uint32(0)
	}
	var out []frame
	ixTable := pcdata(f, pcdataInlTreeIndex)
	for n := 0; hasTree && n <= im.nfunc; n++ { // a chain is shorter than this
		ix := im.pcvalue(ixTable, entry, pc)
		if ix < 0 {
			break
		}
		call := im.read(tree+uint64(ix)*inlinedCallSize, inlinedCallSize)
		if call == nil {
			break
		}
		file, line := im.position(f, entry, pc)
		out = append(out, frame{im.name(le.Uint32(call[4:])), file, line})
		pc = entry + uint64(int64(int32(le.Uint32(call[8:]))))
	}
	file, line := im.position(f, entry, pc)
	return append(out, frame{im.name(le.Uint32(f[funcNameOff:])), file, line})
}

// position returns the file and line of pc in function f, "?" and 0 when
// its tables do not say (a stripped binary).
func (im *image) position(f []byte, entry, pc uint64) (string, int32) {
	le := binary.LittleEndian
	fileno := im.pcvalue(le.Uint32(f[funcPCFile:]), entry, pc)
	line := im.pcvalue(le.Uint32(f[funcPCLn:]), entry, pc)
	cu := uint64(le.Uint32(f[funcCUOffset:])) + uint64(fileno)
	if fileno < 0 || line < 0 || 4*cu+4 > uint64(len(im.cutab)) {
		return "?", 0
	}
	off := le.Uint32(im.cutab[4*cu:])
	if off == ^uint32(0) || uint64(off) >= uint64(len(im.filetab)) {
		return "?", 0
	}
	name := im.filetab[off:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return string(name), line
}
