package image

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/diskfs/go-diskfs/partition/mbr"
)

// Partition is one used MBR primary partition entry.
type Partition struct {
	Index    int    // 1-4, as in (hd0,msdos<Index>)
	Bootable bool   // status 0x80
	Type     byte   // 0x83: Linux
	Start    uint64 // first sector (512 bytes)
	Sectors  uint64
}

// Offset is the partition's first byte on the disk.
func (p Partition) Offset() int64 { return int64(p.Start) * sectorSize }

// Size is the partition's length in bytes.
func (p Partition) Size() int64 { return int64(p.Sectors) * sectorSize }

// ReadMBR reads the MBR partition table of a disk image: the used entries
// of the four primary slots, in order. It fails without the 0x55AA mark.
func ReadMBR(r io.ReaderAt) ([]Partition, error) {
	mbr := make([]byte, sectorSize)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return nil, fmt.Errorf("reading the MBR: %w", err)
	}
	if mbr[bootSignatureOff] != 0x55 || mbr[bootSignatureOff+1] != 0xaa {
		return nil, fmt.Errorf("no MBR partition table (no 0x55AA mark)")
	}
	var out []Partition
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*(i+1)]
		p := Partition{Index: i + 1, Bootable: e[0] == 0x80, Type: e[4],
			Start: uint64(binary.LittleEndian.Uint32(e[8:])), Sectors: uint64(binary.LittleEndian.Uint32(e[12:]))}
		if p.Type != 0 && p.Sectors != 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// Layout is the disk: its size, the first partition's start and, for a
// U-Boot board, the FAT boot partition before the storage one.
type Layout struct {
	Size      int64  // bytes, a multiple of 1 MiB
	PartStart uint64 // sector; GRUB's core.img lives in sectors 1..PartStart-1
	LabelID   uint32 // MBR disk signature
	// BootSectors is the size of a bootable FAT partition (type 0x0c) at
	// PartStart, the storage then following it; 0: the storage is the one
	// bootable Linux partition.
	BootSectors uint64
}

// table is l's MBR partition table for go-diskfs: one bootable Linux
// partition (0x83) from PartStart to the end of the disk, or a bootable
// FAT32 LBA partition (0x0c) of BootSectors and the Linux one after it.
// The CHS fields say "LBA only" (head 254, sector 63, cylinder 1023), as
// partitioning tools write them where CHS cannot address a partition;
// everything that reads these disks (GRUB, U-Boot, the Pi's firmware,
// Linux) uses the LBA fields.
func (l Layout) table() *mbr.Table {
	end := uint32(l.Size / sectorSize)
	part := func(i int, boot bool, t mbr.Type, start, n uint32) *mbr.Partition {
		return &mbr.Partition{Index: i, Bootable: boot, Type: t, Start: start, Size: n,
			StartHead: 0xfe, StartSector: 0xff, StartCylinder: 0xff, EndHead: 0xfe, EndSector: 0xff, EndCylinder: 0xff}
	}
	start := uint32(l.PartStart)
	if l.BootSectors == 0 {
		return &mbr.Table{Partitions: []*mbr.Partition{part(1, true, mbr.Linux, start, end-start)}}
	}
	boot := uint32(l.BootSectors)
	return &mbr.Table{Partitions: []*mbr.Partition{
		part(1, true, mbr.Fat32LBA, start, boot),
		part(2, false, mbr.Linux, start+boot, end-start-boot),
	}}
}

// partition creates path as a sparse file of l.Size bytes, writes its
// partition table with go-diskfs (on the file: no loop device, no kernel
// re-read) and l.LabelID as the disk signature (byte 440, which go-diskfs
// leaves alone), and returns the partitions read back from the MBR: the
// storage one, last, and the boot one first when l has one.
func partition(path string, l Layout) ([]Partition, error) {
	if l.Size%(1<<20) != 0 || l.Size < 4<<20 || l.Size/sectorSize > 1<<32-1 {
		return nil, fmt.Errorf("disk size %d: want a multiple of 1 MiB, at least 4 MiB, below 2 TiB", l.Size)
	}
	if (l.PartStart+l.BootSectors)*sectorSize >= uint64(l.Size) {
		return nil, fmt.Errorf("disk size %d: no room for the storage partition after sector %d", l.Size, l.PartStart+l.BootSectors)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(l.Size); err != nil {
		return nil, err
	}
	if err := l.table().Write(f, l.Size); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var sig [4]byte
	binary.LittleEndian.PutUint32(sig[:], l.LabelID)
	if _, err := f.WriteAt(sig[:], diskSignatureOff); err != nil {
		return nil, err
	}
	parts, err := ReadMBR(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	want := 1
	if l.BootSectors != 0 {
		want = 2
	}
	if len(parts) != want || parts[0].Start != l.PartStart || parts[want-1].Start != l.PartStart+l.BootSectors {
		return nil, fmt.Errorf("%s: wrote %+v, want %d partitions from sector %d", path, parts, want, l.PartStart)
	}
	return parts, f.Sync()
}

// mkfs makes an ext4 filesystem labelled label inside partition p of the
// disk image, filled from dir, with mkfs.ext4 -E offset (no loop device,
// no mount) and the extra features (-O). -T default keeps 4 KiB blocks on
// a small partition (fs-verity's Merkle tree blocks are 4 KiB too).
func mkfs(ctx context.Context, disk string, p Partition, label, dir string, features ...string) error {
	args := []string{"-q", "-F", "-T", "default", "-L", label}
	for _, f := range features {
		args = append(args, "-O", f)
	}
	return run(ctx, "", "mkfs.ext4", append(args, "-E", "offset="+strconv.FormatInt(p.Offset(), 10), "-d", dir,
		disk, strconv.FormatInt(p.Size()/1024, 10)+"k")...)
}

// VerityFeatures are the ext4 features of a storage partition made with
// Options.Verity beyond mkfs's defaults: "verity", so the device can seal
// its objects with fs-verity (mkfs -d copies the files without it: the
// device seals the factory objects at their first boot check). GRUB reads
// such a filesystem: verity is a read-only-compatible feature, and the
// data of a verity file is stored as in any other.
var VerityFeatures = []string{"verity"}
