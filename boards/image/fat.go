package image

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
)

// bootVolumeID is the FAT boot partition's volume ID, fixed so images are
// comparable ("pvbt").
const bootVolumeID = "70766274"

// mkfat makes a FAT filesystem labelled label inside partition p of the
// disk image with mkfs.vfat --offset (no loop device, no mount; FAT12
// below 16 MiB, FAT16 below 64 MiB, FAT32 from there: mkfs.vfat sizes it
// by the whole image file otherwise) and copies
// the files of dir (flat, no subdirectories) into its root with mtools'
// mcopy at the same offset, keeping their modification times.
func mkfat(ctx context.Context, disk string, p Partition, label, dir string) error {
	bits := "12"
	switch {
	case p.Size() >= 64<<20:
		bits = "32"
	case p.Size() >= 16<<20:
		bits = "16"
	}
	err := run(ctx, "", "mkfs.vfat", "-F", bits, "-n", label, "-i", bootVolumeID, "--offset", strconv.FormatUint(p.Start, 10),
		disk, strconv.FormatInt(p.Size()/1024, 10))
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	args := []string{"-i", disk + "@@" + strconv.FormatInt(p.Offset(), 10), "-m"}
	for _, e := range ents {
		args = append(args, filepath.Join(dir, e.Name()))
	}
	// MTOOLS_SKIP_CHECK: mtools' geometry check is for floppies.
	_, err = commandEnv(ctx, []string{"MTOOLS_SKIP_CHECK=1"}, "mcopy", append(args, "::/")...)
	return err
}
