// Package blkid finds the block device named by PV_STORAGE_DEVICE
// ("LABEL=x", "UUID=x" or a path) by reading filesystem superblocks, as
// there is no udev in the initramfs.
package blkid

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrNotFound means no block device matched (yet).
var ErrNotFound error = &sentinel.Error{Text: "no such block device"}

// Info is what a superblock says about a filesystem.
type Info struct {
	Type  string // "ext4" (ext2/3/4 share the layout), "vfat" (FAT12/16/32) or ""
	Label string
	UUID  string
}

// ext superblock: 1024 bytes in, magic 0xEF53 at 0x38, UUID at 0x68, label at 0x78.
const (
	extOffset = 1024
	extMagic  = 0xEF53
)

// FAT boot sector (the first 512 bytes): the 0x55AA mark, then the
// extended boot record of FAT12/16 or of FAT32, each with a 0x29
// signature, a volume ID, an 11-byte label and a file system type name.
const (
	fatSector = 512
	fat16EBR  = 0x26 // signature; ID at +1, label at +5, type at +0x10
	fat32EBR  = 0x42
	fatNoName = "NO NAME"
)

// Probe reads the superblock of a device (or image) from r: ext2/3/4,
// else a FAT boot sector (a partition of a few KiB is not ext).
func Probe(r io.ReaderAt) (Info, error) {
	sb := make([]byte, 1024)
	if _, err := r.ReadAt(sb, extOffset); err != nil {
		if boot, ferr := probeFAT(r); ferr == nil {
			return boot, nil
		}
		return Info{}, printf.Errorf("reading superblock: %w", err)
	}
	if binary.LittleEndian.Uint16(sb[0x38:]) != extMagic {
		return probeFAT(r)
	}
	label := sb[0x78 : 0x78+16]
	if i := strings.IndexByte(string(label), 0); i >= 0 {
		label = label[:i]
	}
	return Info{Type: "ext4", Label: string(label), UUID: formatUUID(sb[0x68 : 0x68+16])}, nil
}

// probeFAT reads a FAT boot sector: Type "vfat", the label (spaces
// trimmed; "NO NAME" is none) and the volume ID as blkid prints it
// (XXXX-XXXX). Anything else is an unknown filesystem (zero Info).
func probeFAT(r io.ReaderAt) (Info, error) {
	bs := make([]byte, fatSector)
	if _, err := r.ReadAt(bs, 0); err != nil {
		return Info{}, printf.Errorf("reading boot sector: %w", err)
	}
	if bs[510] != 0x55 || bs[511] != 0xaa {
		return Info{}, nil
	}
	for _, ebr := range []int{fat32EBR, fat16EBR} {
		if bs[ebr] != 0x29 || !strings.HasPrefix(string(bs[ebr+0x10:ebr+0x18]), "FAT") {
			continue
		}
		label := strings.TrimRight(string(bs[ebr+5:ebr+16]), " \x00")
		if label == fatNoName {
			label = ""
		}
		id := binary.LittleEndian.Uint32(bs[ebr+1:])
		return Info{Type: "vfat", Label: label, UUID: printf.Sprintf("%04X-%04X", id>>16, id&0xffff)}, nil
	}
	return Info{}, nil
}

func formatUUID(b []byte) string {
	const hex = "0123456789abcdef"
	var out []byte
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// Finder looks for devices. Zero fields mean the real /sys and /dev.
type Finder struct {
	Sys string // "/sys"
	Dev string // "/dev"
}

// Find resolves spec: "LABEL=x", "UUID=x", or a device path (returned as
// is when it exists).
func (f Finder) Find(spec string) (string, error) {
	key, want, ok := strings.Cut(spec, "=")
	if !ok || (key != "LABEL" && key != "UUID") {
		if _, err := os.Stat(spec); err != nil {
			return "", printf.Errorf("%w: %s", ErrNotFound, spec)
		}
		return spec, nil
	}
	for _, dev := range f.devices() {
		info, err := probeFile(dev)
		if err != nil || info.Type == "" {
			continue
		}
		if (key == "LABEL" && info.Label == want) || (key == "UUID" && strings.EqualFold(info.UUID, want)) {
			return dev, nil
		}
	}
	return "", printf.Errorf("%w: %s", ErrNotFound, spec)
}

// Wait retries Find until it succeeds or timeout passes (devices appear
// as their drivers probe; PV_STORAGE_WAIT).
func (f Finder) Wait(spec string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		dev, err := f.Find(spec)
		if err == nil || time.Now().After(deadline) {
			return dev, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// devices lists /dev/<name> for every block device in /sys/class/block,
// partitions included, sorted.
func (f Finder) devices() []string {
	sys, dev := f.Sys, f.Dev
	if sys == "" {
		sys = "/sys"
	}
	if dev == "" {
		dev = "/dev"
	}
	entries, _ := os.ReadDir(filepath.Join(sys, "class", "block"))
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(dev, e.Name()))
	}
	sort.Strings(out)
	return out
}

func probeFile(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	return Probe(f)
}
