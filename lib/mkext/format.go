package mkext

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"time"

	"pantavisor/lib/printf"
)

// Options tune Format. The zero value formats with a random UUID, the
// current time and the block size NewLayout picks.
type Options struct {
	BlockSize int64     // 0: as mke2fs picks it
	Label     string    // volume name, at most 16 bytes
	UUID      [16]byte  // zero: random
	Now       time.Time // zero: time.Now (tests fix it for byte-identical output)
	Rand      io.Reader // source of the UUID; nil: crypto/rand
}

// Feature flags written (linux/ext2_fs.h).
const (
	featureIncompatFiletype    = 0x0002
	featureROCompatSparseSuper = 0x0001
	featureROCompatLargeFile   = 0x0002
)

const (
	extMagic      = 0xEF53
	magicOffset   = superOffset + 56 // 0x438
	modeDir       = 0o040000
	fileTypeDir   = 2
	sectorsPerKiB = 2
)

// Format writes a new filesystem of size bytes to w (a block device or a
// file of at least size bytes) and returns its layout. Steps: compute the
// layout; write each group's metadata (superblock and descriptor copies
// where sparse_super puts them, bitmaps with their padding bits set, the
// whole inode table zeroed, since a fresh dm-crypt device reads as noise);
// write the root and lost+found directory blocks. Data blocks are not
// touched. Format overwrites whatever was there: check Formatted first.
func Format(w io.WriterAt, size int64, opts Options) (Layout, error) {
	l, err := NewLayout(size, opts.BlockSize)
	if err != nil {
		return l, err
	}
	if len(opts.Label) > 16 {
		return l, printf.Errorf("mkext: label %q is longer than 16 bytes", opts.Label)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.UUID == ([16]byte{}) {
		if err := newUUID(&opts.UUID, opts.Rand); err != nil {
			return l, err
		}
	}
	gdt := l.descriptors()
	for g := range l.Groups {
		if err := writeAt(w, l.groupMeta(g, gdt, opts), l.groupStart(g)*l.BlockSize, "group", g); err != nil {
			return l, err
		}
	}
	if g0 := l.groupStart(0); g0 > 0 { // 1 KiB blocks: block 0 is the boot block, zero it
		if err := writeAt(w, make([]byte, l.BlockSize), 0, "boot block", 0); err != nil {
			return l, err
		}
	}
	if err := writeAt(w, l.dirBlock(rootIno, rootIno, "lost+found", firstIno), l.rootBlock()*l.BlockSize, "root directory", 0); err != nil {
		return l, err
	}
	return l, writeAt(w, l.dirBlock(firstIno, rootIno, "", 0), l.lostFoundBlock()*l.BlockSize, "lost+found", 0)
}

func writeAt(w io.WriterAt, b []byte, off int64, what string, g int64) error {
	if _, err := w.WriteAt(b, off); err != nil {
		return printf.Errorf("mkext: writing %s %d at %d: %w", what, g, off, err)
	}
	return nil
}

// newUUID fills u with a random version-4 UUID.
func newUUID(u *[16]byte, r io.Reader) error {
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, u[:]); err != nil {
		return printf.Errorf("mkext: uuid: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return nil
}

// groupMeta is the metadata region of group g, from its first block to
// the end of its inode table.
func (l *Layout) groupMeta(g int64, gdt []byte, opts Options) []byte {
	b := make([]byte, l.overhead(g)*l.BlockSize)
	off := int64(0)
	if hasSuper(g) {
		sb := l.superblock(g, opts)
		if g == 0 && l.FirstDataBlock == 0 {
			copy(b[superOffset:], sb) // 4 KiB blocks: the superblock sits 1024 bytes into block 0
		} else {
			copy(b, sb)
		}
		copy(b[l.BlockSize:], gdt)
		off = (1 + l.GDTBlocks) * l.BlockSize
	}
	l.blockBitmapBytes(g, b[off:off+l.BlockSize])
	l.inodeBitmapBytes(g, b[off+l.BlockSize:off+2*l.BlockSize])
	if g == 0 {
		l.reservedInodes(b[off+2*l.BlockSize:], opts.Now)
	}
	return b
}

// blockBitmapBytes marks group g's used blocks and, past the end of a
// short last group, the padding bits (e2fsck insists they are set).
func (l *Layout) blockBitmapBytes(g int64, b []byte) {
	setBits(b, 0, l.usedBlocks(g))
	setBits(b, l.groupBlocks(g), 8*l.BlockSize)
}

// inodeBitmapBytes marks group g's used inodes and the padding bits past
// InodesPerGroup.
func (l *Layout) inodeBitmapBytes(g int64, b []byte) {
	setBits(b, 0, l.usedInodes(g))
	setBits(b, l.InodesPerGroup, 8*l.BlockSize)
}

func setBits(b []byte, from, to int64) {
	for i := from; i < to; i++ {
		b[i/8] |= 1 << (i % 8)
	}
}

// descriptors is the group descriptor table.
func (l *Layout) descriptors() []byte {
	b := make([]byte, l.GDTBlocks*l.BlockSize)
	le := binary.LittleEndian
	for g := range l.Groups {
		d := b[g*descSize:]
		le.PutUint32(d[0:], uint32(l.blockBitmap(g)))
		le.PutUint32(d[4:], uint32(l.inodeBitmap(g)))
		le.PutUint32(d[8:], uint32(l.inodeTable(g)))
		le.PutUint16(d[12:], uint16(l.groupBlocks(g)-l.usedBlocks(g)))
		le.PutUint16(d[14:], uint16(l.InodesPerGroup-l.usedInodes(g)))
		if g == 0 {
			le.PutUint16(d[16:], 2) // used directories: root and lost+found
		}
	}
	return b
}
