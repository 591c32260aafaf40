package mkext

import (
	"encoding/binary"
	"io"
	"math/bits"
	"time"
)

// superblock is the 1024-byte superblock as stored in group g (the copies
// differ only in s_block_group_nr). Offsets are struct ext2_super_block's.
func (l *Layout) superblock(g int64, opts Options) []byte {
	b := make([]byte, superSize)
	le := binary.LittleEndian
	now := uint32(opts.Now.Unix())
	logBlock := uint32(bits.TrailingZeros64(uint64(l.BlockSize)) - 10)
	le.PutUint32(b[0:], uint32(l.Inodes()))
	le.PutUint32(b[4:], uint32(l.Blocks))
	le.PutUint32(b[8:], uint32(l.Reserved))
	le.PutUint32(b[12:], uint32(l.FreeBlocks()))
	le.PutUint32(b[16:], uint32(l.Inodes()-firstIno))
	le.PutUint32(b[20:], uint32(l.FirstDataBlock))
	le.PutUint32(b[24:], logBlock) // s_log_block_size
	le.PutUint32(b[28:], logBlock) // s_log_cluster_size (no bigalloc: equal)
	le.PutUint32(b[32:], uint32(l.BlocksPerGroup))
	le.PutUint32(b[36:], uint32(l.BlocksPerGroup)) // s_clusters_per_group
	le.PutUint32(b[40:], uint32(l.InodesPerGroup))
	le.PutUint32(b[48:], now)    // s_wtime
	le.PutUint16(b[54:], 0xffff) // s_max_mnt_count -1: no count-based check
	le.PutUint16(b[56:], extMagic)
	le.PutUint16(b[58:], 1) // s_state: clean
	le.PutUint16(b[60:], 1) // s_errors: continue
	le.PutUint32(b[64:], now)
	le.PutUint32(b[76:], 1) // s_rev_level: dynamic
	le.PutUint32(b[84:], firstIno)
	le.PutUint16(b[88:], inodeSize)
	le.PutUint16(b[90:], uint16(g))
	le.PutUint32(b[96:], featureIncompatFiletype)
	le.PutUint32(b[100:], featureROCompatSparseSuper|featureROCompatLargeFile)
	copy(b[104:120], opts.UUID[:])
	copy(b[120:136], opts.Label)
	le.PutUint32(b[264:], now)        // s_mkfs_time
	le.PutUint16(b[348:], extraISize) // s_min_extra_isize
	le.PutUint16(b[350:], extraISize) // s_want_extra_isize
	return b
}

// reservedInodes writes the root directory (inode 2) and lost+found (11)
// into the start of group 0's inode table; inodes 1 and 3-10 stay zero.
func (l *Layout) reservedInodes(table []byte, now time.Time) {
	writeDirInode(table[(rootIno-1)*inodeSize:], 0o755, 3, l.BlockSize, l.rootBlock(), now)
	writeDirInode(table[(firstIno-1)*inodeSize:], 0o700, 2, l.BlockSize, l.lostFoundBlock(), now)
}

// writeDirInode fills a one-block directory inode with perm, links and
// its block.
func writeDirInode(b []byte, perm uint16, links uint16, blockSize, block int64, now time.Time) {
	le := binary.LittleEndian
	t := uint32(now.Unix())
	le.PutUint16(b[0:], modeDir|perm)
	le.PutUint32(b[4:], uint32(blockSize))
	le.PutUint32(b[8:], t)
	le.PutUint32(b[12:], t)
	le.PutUint32(b[16:], t)
	le.PutUint16(b[26:], links)
	le.PutUint32(b[28:], uint32(blockSize/512)) // i_blocks counts 512-byte sectors
	le.PutUint32(b[40:], uint32(block))         // i_block[0]
	le.PutUint16(b[128:], extraISize)
	le.PutUint32(b[144:], t) // i_crtime
}

// dirBlock is a directory block holding "." (self), ".." (parent) and,
// when name is set, one entry name for inode child; the last entry's
// rec_len runs to the block's end.
func (l *Layout) dirBlock(self, parent uint32, name string, child uint32) []byte {
	b := make([]byte, l.BlockSize)
	off := dirent(b, 0, self, ".", 12)
	if name == "" {
		dirent(b, off, parent, "..", int(l.BlockSize)-off)
		return b
	}
	off = dirent(b, off, parent, "..", 12)
	dirent(b, off, child, name, int(l.BlockSize)-off)
	return b
}

// dirent writes one ext2_dir_entry_2 at off and returns the next offset.
func dirent(b []byte, off int, ino uint32, name string, recLen int) int {
	le := binary.LittleEndian
	le.PutUint32(b[off:], ino)
	le.PutUint16(b[off+4:], uint16(recLen))
	b[off+6] = byte(len(name))
	b[off+7] = fileTypeDir
	copy(b[off+8:], name)
	return off + recLen
}

// Formatted reports whether r holds an ext2/3/4 filesystem: the magic
// 0xEF53 at byte 0x438. A device too short to hold it is not formatted.
func Formatted(r io.ReaderAt) (bool, error) {
	var m [2]byte
	_, err := r.ReadAt(m[:], magicOffset)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return binary.LittleEndian.Uint16(m[:]) == extMagic, nil
}
