package mkext

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Sizes of the on-disk structures this package writes.
const (
	superOffset = 1024 // the superblock always starts 1024 bytes in
	superSize   = 1024
	descSize    = 32  // ext2 group descriptor
	inodeSize   = 256 // room for the extra timestamps (no year-2038 warning)
	extraISize  = 32  // i_extra_isize written in our inodes, as mke2fs does
	firstIno    = 11  // first non-reserved inode: lost+found
	rootIno     = 2
	minInodes   = 16
	minBlocks   = 64 // a filesystem smaller than this has no room for data
	// minLastGroup drops a last group that would hold fewer data blocks
	// than this (mke2fs does the same, keeping the size math simple).
	minLastGroup = 50
)

// ErrTooSmall is returned for a size that cannot hold a filesystem.
var ErrTooSmall error = &sentinel.Error{Text: "mkext: device too small for a filesystem"}

// Layout is the geometry of a filesystem: everything Format writes
// follows from it. All block numbers are absolute.
type Layout struct {
	BlockSize      int64
	Blocks         int64 // s_blocks_count (may be below size/BlockSize: a too-small last group is dropped)
	FirstDataBlock int64 // 1 for 1 KiB blocks, else 0
	BlocksPerGroup int64
	Groups         int64
	InodesPerGroup int64
	GDTBlocks      int64 // blocks of the group descriptor table
	ITableBlocks   int64 // blocks of one group's inode table
	Reserved       int64 // s_r_blocks_count: 5%, for root, as mke2fs
}

// NewLayout computes the geometry for size bytes. blockSize 0 picks it as
// mke2fs does: 1024 below 512 MiB, else 4096; the bytes per inode are
// mke2fs's too (8192 below 3 MiB, 4096 below 512 MiB, else 16384).
func NewLayout(size, blockSize int64) (Layout, error) {
	const mib = 1 << 20
	if blockSize == 0 {
		blockSize = 4096
		if size < 512*mib {
			blockSize = 1024
		}
	}
	if blockSize != 1024 && blockSize != 2048 && blockSize != 4096 {
		return Layout{}, printf.Errorf("mkext: block size %d: want 1024, 2048 or 4096", blockSize)
	}
	ratio := int64(16384)
	switch {
	case size < 3*mib:
		ratio = 8192
	case size < 512*mib:
		ratio = 4096
	}
	l := Layout{BlockSize: blockSize, Blocks: size / blockSize, BlocksPerGroup: 8 * blockSize}
	if size < 0 || l.Blocks < minBlocks || l.Blocks > 1<<32-1 {
		return Layout{}, printf.Errorf("%w: %d bytes is %d blocks of %d (want %d to 2^32-1)", ErrTooSmall, size, max(l.Blocks, 0), blockSize, minBlocks)
	}
	if blockSize == 1024 {
		l.FirstDataBlock = 1
	}
	l.Groups = ceilDiv(l.Blocks-l.FirstDataBlock, l.BlocksPerGroup)
	l.GDTBlocks = ceilDiv(l.Groups*descSize, blockSize)
	l.setInodes(l.Blocks * blockSize / ratio)
	if l.Groups > 1 && l.groupBlocks(l.Groups-1) < l.overhead(l.Groups-1)+minLastGroup {
		l.Groups--
		l.Blocks = l.FirstDataBlock + l.Groups*l.BlocksPerGroup
		l.GDTBlocks = ceilDiv(l.Groups*descSize, blockSize)
		l.setInodes(l.Blocks * blockSize / ratio)
	}
	if l.groupBlocks(l.Groups-1) < l.overhead(l.Groups-1)+2 {
		return Layout{}, printf.Errorf("%w: %d bytes leave no data blocks", ErrTooSmall, size)
	}
	l.Reserved = l.Blocks * 5 / 100
	return l, nil
}

// setInodes sets InodesPerGroup for about total inodes: a multiple of 8
// (whole bitmap bytes) and of the inodes per block (whole table blocks),
// at most a bitmap block's bits, and never below minInodes in all.
func (l *Layout) setInodes(total int64) {
	perBlock := l.BlockSize / inodeSize
	ipg := ceilDiv(max(total, minInodes), l.Groups)
	ipg = ceilDiv(ipg, max(perBlock, 8)) * max(perBlock, 8)
	l.InodesPerGroup = min(ipg, 8*l.BlockSize)
	l.ITableBlocks = l.InodesPerGroup * inodeSize / l.BlockSize
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// Inodes is s_inodes_count.
func (l *Layout) Inodes() int64 { return l.InodesPerGroup * l.Groups }

// hasSuper reports whether group g holds a superblock backup (sparse_super:
// groups 0, 1 and the powers of 3, 5 and 7).
func hasSuper(g int64) bool {
	if g <= 1 {
		return true
	}
	for _, p := range []int64{3, 5, 7} {
		n := p
		for n < g {
			n *= p
		}
		if n == g {
			return true
		}
	}
	return false
}

// groupStart is the first block of group g.
func (l *Layout) groupStart(g int64) int64 { return l.FirstDataBlock + g*l.BlocksPerGroup }

// groupBlocks is the number of blocks of group g (the last may be short).
func (l *Layout) groupBlocks(g int64) int64 {
	return min(l.BlocksPerGroup, l.Blocks-l.groupStart(g))
}

// overhead is the metadata blocks at the start of group g: superblock and
// descriptor copies where sparse_super puts them, then the block bitmap,
// inode bitmap and inode table.
func (l *Layout) overhead(g int64) int64 {
	n := 2 + l.ITableBlocks
	if hasSuper(g) {
		n += 1 + l.GDTBlocks
	}
	return n
}

// blockBitmap, inodeBitmap and inodeTable are the metadata blocks of group g.
func (l *Layout) blockBitmap(g int64) int64 {
	return l.groupStart(g) + l.overhead(g) - 2 - l.ITableBlocks
}
func (l *Layout) inodeBitmap(g int64) int64 { return l.blockBitmap(g) + 1 }
func (l *Layout) inodeTable(g int64) int64  { return l.blockBitmap(g) + 2 }

// rootBlock and lostFoundBlock are the directory blocks, the first data
// blocks of group 0.
func (l *Layout) rootBlock() int64      { return l.groupStart(0) + l.overhead(0) }
func (l *Layout) lostFoundBlock() int64 { return l.rootBlock() + 1 }

// usedBlocks is the blocks in use in group g.
func (l *Layout) usedBlocks(g int64) int64 {
	if g == 0 {
		return l.overhead(0) + 2
	}
	return l.overhead(g)
}

// usedInodes is the inodes in use in group g (the reserved ones and
// lost+found live in group 0).
func (l *Layout) usedInodes(g int64) int64 {
	if g == 0 {
		return firstIno
	}
	return 0
}

// FreeBlocks is s_free_blocks_count.
func (l *Layout) FreeBlocks() int64 {
	var n int64
	for g := range l.Groups {
		n += l.groupBlocks(g) - l.usedBlocks(g)
	}
	return n
}
