package mkext

import (
	"errors"
	"testing"
)

func TestNewLayout(t *testing.T) {
	for _, c := range []struct {
		size, bs                                         int64
		wantBS, wantBlocks, wantGroups, wantIPG, wantGDT int64
	}{
		{2 * mib, 0, 1024, 2048, 1, 256, 1},         // floppy: 8192 bytes per inode
		{8 * mib, 0, 1024, 8192, 1, 2048, 1},        // one group: blocks 1..8191
		{8*mib + 1024, 0, 1024, 8193, 1, 2048, 1},   // blocks 1..8192: exactly one group
		{64 * mib, 0, 1024, 65536, 8, 2048, 1},      // small: 4096 bytes per inode
		{1 << 30, 0, 4096, 262144, 8, 8192, 1},      // default: 16384 bytes per inode
		{1 << 30, 1024, 1024, 1 << 20, 128, 512, 4}, // upstream's -b 1024
		{64 * 1024, 1024, 1024, 64, 1, 16, 1},       // the smallest
	} {
		l, err := NewLayout(c.size, c.bs)
		if err != nil {
			t.Errorf("NewLayout(%d, %d): %v", c.size, c.bs, err)
			continue
		}
		if l.BlockSize != c.wantBS || l.Blocks != c.wantBlocks || l.Groups != c.wantGroups ||
			l.InodesPerGroup != c.wantIPG || l.GDTBlocks != c.wantGDT {
			t.Errorf("NewLayout(%d, %d) = %+v, want bs %d blocks %d groups %d ipg %d gdt %d",
				c.size, c.bs, l, c.wantBS, c.wantBlocks, c.wantGroups, c.wantIPG, c.wantGDT)
		}
		checkLayout(t, l, c.size)
	}
	for _, size := range []int64{-1, 0, 1024, 63 * 1024} {
		if _, err := NewLayout(size, 1024); !errors.Is(err, ErrTooSmall) {
			t.Errorf("NewLayout(%d) = %v, want ErrTooSmall", size, err)
		}
	}
}

func TestHasSuper(t *testing.T) {
	want := map[int64]bool{0: true, 1: true, 3: true, 5: true, 7: true, 9: true, 25: true, 27: true, 49: true, 81: true, 125: true}
	for g := int64(0); g < 130; g++ {
		if hasSuper(g) != want[g] {
			t.Errorf("hasSuper(%d) = %v", g, hasSuper(g))
		}
	}
}

// checkLayout asserts the invariants Format relies on.
func checkLayout(t *testing.T, l Layout, size int64) {
	t.Helper()
	if l.Blocks*l.BlockSize > size {
		t.Fatalf("%+v: %d blocks exceed %d bytes", l, l.Blocks, size)
	}
	if l.FirstDataBlock+l.Groups*l.BlocksPerGroup < l.Blocks || l.FirstDataBlock+(l.Groups-1)*l.BlocksPerGroup >= l.Blocks {
		t.Fatalf("%+v: groups do not cover the blocks exactly", l)
	}
	if l.InodesPerGroup%8 != 0 || l.InodesPerGroup*inodeSize%l.BlockSize != 0 || l.InodesPerGroup > 8*l.BlockSize ||
		l.InodesPerGroup < firstIno {
		t.Fatalf("%+v: bad inodes per group", l)
	}
	if l.GDTBlocks*l.BlockSize < l.Groups*descSize {
		t.Fatalf("%+v: descriptors do not fit", l)
	}
	used := int64(0)
	for g := range l.Groups {
		if l.usedBlocks(g) >= l.groupBlocks(g) || l.groupBlocks(g)-l.usedBlocks(g) > 0xffff {
			t.Fatalf("%+v: group %d uses %d of %d blocks", l, g, l.usedBlocks(g), l.groupBlocks(g))
		}
		if l.inodeTable(g)+l.ITableBlocks > l.groupStart(g)+l.groupBlocks(g) {
			t.Fatalf("%+v: group %d inode table overflows", l, g)
		}
		used += l.usedBlocks(g)
	}
	if l.FreeBlocks()+used != l.Blocks-l.FirstDataBlock {
		t.Fatalf("%+v: free %d + used %d != %d", l, l.FreeBlocks(), used, l.Blocks-l.FirstDataBlock)
	}
}

func FuzzNewLayout(f *testing.F) {
	for _, s := range []int64{64 * 1024, 2 * mib, 8*mib + 1024, 1 << 30, 1 << 40} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, size, bs int64) {
		l, err := NewLayout(size, bs)
		if err != nil {
			return
		}
		checkLayout(t, l, size)
	})
}
