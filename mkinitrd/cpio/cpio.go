// Package cpio reads and writes the newc ("070701") cpio format the Linux
// kernel unpacks as an initramfs, reproducibly.
package cpio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// File types, as in the mode field.
const (
	TypeMask = 0o170000
	TypeDir  = 0o040000
	TypeReg  = 0o100000
	TypeLink = 0o120000
	TypeChar = 0o020000
	TypeBlk  = 0o060000
)

const (
	magic   = "070701"
	trailer = "TRAILER!!!"
	hdrLen  = 110
	// maxName bounds a name read from an archive (PATH_MAX).
	maxName = 4096
)

// Entry is one archive member. Mode holds the type and permission bits.
// Data is the content of a regular file; Link the target of a symlink.
type Entry struct {
	Name         string
	Mode         uint32
	Data         []byte
	Link         string
	UID, GID     uint32
	MTime        uint32
	Major, Minor uint32 // device numbers of a char or block node
}

// ErrFormat is wrapped by every error about a malformed archive.
var ErrFormat = errors.New("malformed cpio archive")

// Clean normalises a member name: no leading "/" or "./", no "." or ".."
// elements. It returns "" for the root, which archives do not hold.
func Clean(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// Reproducible returns the entries with every name cleaned, owners and
// mtimes zeroed, duplicates (by name) reduced to the last one, sorted by
// name so parents precede children.
func Reproducible(in []Entry) []Entry {
	byName := map[string]Entry{}
	for _, e := range in {
		e.Name = Clean(e.Name)
		if e.Name == "" {
			continue
		}
		e.UID, e.GID, e.MTime = 0, 0, 0
		byName[e.Name] = e
	}
	out := make([]Entry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Write writes the entries, in the given order, and the trailer. Inode
// numbers are assigned 1, 2, 3... in order, so the output depends only on
// the entries.
func Write(w io.Writer, entries []Entry) error {
	for i, e := range entries {
		if err := writeOne(w, uint32(i+1), e); err != nil {
			return fmt.Errorf("writing %s: %w", e.Name, err)
		}
	}
	return writeOne(w, 0, Entry{Name: trailer})
}

func writeOne(w io.Writer, ino uint32, e Entry) error {
	data := e.Data
	switch e.Mode & TypeMask {
	case TypeLink:
		data = []byte(e.Link)
	case TypeReg:
	default:
		data = nil
	}
	nlink := uint32(1)
	if e.Mode&TypeMask == TypeDir {
		nlink = 2
	}
	name := e.Name + "\x00"
	var b bytes.Buffer
	b.WriteString(magic)
	for _, v := range []uint32{ino, e.Mode, e.UID, e.GID, nlink, e.MTime, uint32(len(data)), 0, 0, e.Major, e.Minor, uint32(len(name)), 0} {
		fmt.Fprintf(&b, "%08x", v)
	}
	b.WriteString(name)
	b.Write(make([]byte, pad(hdrLen+len(name))))
	b.Write(data)
	b.Write(make([]byte, pad(len(data))))
	_, err := w.Write(b.Bytes())
	return err
}

func pad(n int) int { return (4 - n%4) % 4 }

// Read parses an archive up to its trailer. maxData bounds the size of any
// one member's data.
func Read(r io.Reader, maxData int) ([]Entry, error) {
	var out []Entry
	var off int64
	for {
		var hdr [hdrLen]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("%w: header at %d: %v", ErrFormat, off, err)
		}
		if string(hdr[:6]) != magic {
			return nil, fmt.Errorf("%w: bad magic %q at %d", ErrFormat, hdr[:6], off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("%w: field %d at %d: %q", ErrFormat, i, off, hdr[6+8*i:14+8*i])
			}
			f[i] = uint32(v)
		}
		size, nameLen := int(f[6]), int(f[11])
		if nameLen < 1 || nameLen > maxName {
			return nil, fmt.Errorf("%w: name length %d at %d", ErrFormat, nameLen, off)
		}
		if size > maxData {
			return nil, fmt.Errorf("%w: member of %d bytes at %d exceeds %d", ErrFormat, size, off, maxData)
		}
		name := make([]byte, nameLen+pad(hdrLen+nameLen))
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, fmt.Errorf("%w: name at %d: %v", ErrFormat, off, err)
		}
		if name[nameLen-1] != 0 || bytes.IndexByte(name[:nameLen-1], 0) >= 0 {
			return nil, fmt.Errorf("%w: name at %d is not one NUL-terminated string", ErrFormat, off)
		}
		data := make([]byte, size+pad(size))
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("%w: data at %d: %v", ErrFormat, off, err)
		}
		off += int64(hdrLen + len(name) + len(data))
		e := Entry{Name: string(name[:nameLen-1]), Mode: f[1], UID: f[2], GID: f[3], MTime: f[5], Major: f[9], Minor: f[10]}
		if e.Name == trailer {
			return out, nil
		}
		switch e.Mode & TypeMask {
		case TypeLink:
			e.Link = string(data[:size])
		case TypeReg:
			if size > 0 {
				e.Data = data[:size]
			}
		}
		out = append(out, e)
	}
}

// BCJ filters xz(1) and the kernel's decoder (lib/xz, CONFIG_XZ_DEC_*)
// both know: each rewrites its architecture's relative branch targets as
// absolute ones before LZMA2, so calls to one function repeat as bytes.
var BCJ = []string{"x86", "arm", "armthumb", "arm64", "powerpc", "ia64", "sparc", "riscv"}

// XZ compresses an archive the way the kernel's initramfs decoder takes
// it: xz with a CRC32 check (it has no CRC64 or SHA-256) and a 1 MiB
// dictionary, from xz's strongest preset (preset=9e inside --lzma2: a
// -9e before a --lzma2 option is overridden by it, which leaves the
// default preset 6, as in the size gate's xz row, 0.1 % looser); with bcj
// (one of BCJ) that filter runs before LZMA2, which the kernel decodes
// only when built with it (the board kernel's config). It runs xz(1):
// liblzma packs our initramfs about 17 % tighter than the Go xz package
// did (2,951,232 against 3,544,576 bytes for qemu-x86_64's, 2026-12-07),
// and that package reads no BCJ filter.
func XZ(archive []byte, bcj string) ([]byte, error) {
	args := []string{"--check=crc32", "--lzma2=preset=9e,dict=1MiB", "-c"}
	if bcj != "" {
		if !slices.Contains(BCJ, bcj) {
			return nil, fmt.Errorf("xz: no BCJ filter %q (known: %s)", bcj, strings.Join(BCJ, " "))
		}
		args = append([]string{"--" + bcj}, args...)
	}
	return xz(archive, args...)
}

// bcjIDs are the xz format's filter IDs of BCJ's filters.
var bcjIDs = map[uint64]string{0x04: "x86", 0x05: "powerpc", 0x06: "ia64", 0x07: "arm",
	0x08: "armthumb", 0x09: "sparc", 0x0a: "arm64", 0x0b: "riscv"}

// BCJOf returns the BCJ filter of an xz stream's first block ("" for
// none), read from its block header (xz file format 1.2.0, 3.1): what an
// archive packed like another one must use too.
func BCJOf(packed []byte) (string, error) {
	const streamHeader = 12
	if len(packed) < streamHeader+2 || !bytes.HasPrefix(packed, []byte("\xfd7zXZ\x00")) {
		return "", errors.New("xz: not an xz stream")
	}
	h := packed[streamHeader:]
	size := (int(h[0]) + 1) * 4
	if h[0] == 0 || size > len(h) {
		return "", errors.New("xz: no block header")
	}
	flags, p := h[1], 2
	varint := func() uint64 {
		v, n := binary.Uvarint(h[p:size])
		if n <= 0 {
			p = size
			return 0
		}
		p += n
		return v
	}
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed, uncompressed size
		if present {
			varint()
		}
	}
	for range int(flags&3) + 1 {
		id, props := varint(), varint()
		if p >= size {
			return "", errors.New("xz: block header cut short")
		}
		if name, ok := bcjIDs[id]; ok {
			return name, nil
		}
		p += int(props)
	}
	return "", nil
}

// Unxz unpacks what XZ packed, BCJ filters included, with xz(1).
func Unxz(packed []byte) ([]byte, error) {
	return xz(packed, "-dc")
}

// xz runs xz(1) with args on in and returns its output.
func xz(in []byte, args ...string) ([]byte, error) {
	var out, errs bytes.Buffer
	cmd := exec.Command("xz", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &errs
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("xz: %w: %s", err, strings.TrimSpace(errs.String()))
	}
	return out.Bytes(), nil
}
