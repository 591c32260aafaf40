package image

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat32"
)

// mkfat makes a FAT32 filesystem labelled label inside partition p of the
// disk image with go-diskfs (no loop device, no mount, no dosfstools) and
// copies files (name in the root -> file on the host) into its root, in
// name order, with their modification times. reproducible: the volume serial is 0, so two builds of the
// same files are the same bytes.
func mkfat(disk string, p Partition, label string, files map[string]string) error {
	b, err := file.OpenFromPath(disk, false)
	if err != nil {
		return err
	}
	defer b.Close()
	fs, err := fat32.Create(b, p.Size(), p.Offset(), sectorSize, label, true)
	if err != nil {
		return fmt.Errorf("FAT %s in %s: %w", label, disk, err)
	}
	if err := checkFAT32(b, p); err != nil {
		return fmt.Errorf("FAT %s in %s: %w", label, disk, err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := copyToFAT(fs, name, files[name]); err != nil {
			return fmt.Errorf("FAT %s: %s: %w", label, name, err)
		}
	}
	return nil
}

// checkFAT32 reads back the boot sector go-diskfs wrote and checks that
// its FAT has an entry for every cluster (plus the two reserved ones):
// go-diskfs v1.9.4 sizes the FAT two entries short for some volume sizes
// (64 MiB exactly: 129,024 clusters, room for 129,022), which fsck.fat
// reports as an error and which would leave the last clusters unusable.
// BootMiB is a size it gets right; this keeps it so.
func checkFAT32(r io.ReaderAt, p Partition) error {
	bs := make([]byte, sectorSize)
	if _, err := r.ReadAt(bs, p.Offset()); err != nil {
		return err
	}
	le16 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint16(bs[off:])) }
	le32 := func(off int) uint64 { return uint64(binary.LittleEndian.Uint32(bs[off:])) }
	bytesPerSector, perCluster, reserved, fats := le16(0x0b), uint64(bs[0x0d]), le16(0x0e), uint64(bs[0x10])
	total, perFAT := le32(0x20), le32(0x24)
	if bytesPerSector == 0 || perCluster == 0 || total < reserved+fats*perFAT {
		return fmt.Errorf("not a FAT32 boot sector (%d bytes per sector, %d per cluster)", bytesPerSector, perCluster)
	}
	clusters := (total - reserved - fats*perFAT) / perCluster
	if room := perFAT*bytesPerSector/4 - 2; room < clusters {
		return fmt.Errorf("%d clusters but FAT room for %d (go-diskfs sizing; choose another partition size)", clusters, room)
	}
	return nil
}

// copyToFAT writes the host file src as /name on fs.
func copyToFAT(fs *fat32.FileSystem, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// The source's modification time, not the build's: the same inputs
	// make the same FAT.
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	return fs.Chtimes("/"+name, fi.ModTime(), fi.ModTime(), fi.ModTime())
}

// ReadFAT returns the file name in the root of the FAT32 filesystem in
// partition p of disk (the tests read the try-boot latch with it).
func ReadFAT(disk string, p Partition, name string) ([]byte, error) {
	b, err := file.OpenFromPath(disk, true)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	fs, err := fat32.Read(b, p.Size(), p.Offset(), sectorSize)
	if err != nil {
		return nil, fmt.Errorf("FAT in %s: %w", disk, err)
	}
	f, err := fs.OpenFile("/"+name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The directory entry's size: go-diskfs' File.Read returns whole
	// clusters (and its FileSystem.Stat cannot read the root directory).
	fi, err := f.(*fat12.File).Stat()
	if err != nil {
		return nil, err
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}
