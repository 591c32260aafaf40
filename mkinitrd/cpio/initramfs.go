package cpio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// modulesDir is where an initramfs holds the kernel's modules.
const modulesDir = "lib/modules/"

// Pack writes entries as an initramfs: reproducible newc archives, each
// packed by XZ. With a BCJ filter, the kernel modules (under lib/modules/)
// go into a second archive packed without it: the filter turns the zero
// call displacements of relocatable module code into addresses, which
// pack worse (qemu-x86_64's 20 modules, 2026-12-08: 655,652 bytes plain,
// 708,628 with x86's filter). The kernel unpacks concatenated archives
// one after the other (init/initramfs.c).
func Pack(entries []Entry, bcj string) ([]byte, error) {
	var code, modules []Entry
	for _, e := range entries {
		if bcj != "" && strings.HasPrefix(e.Name, modulesDir) {
			modules = append(modules, e)
		} else {
			code = append(code, e)
		}
	}
	packed, err := packOne(code, bcj)
	if err != nil || len(modules) == 0 {
		return packed, err
	}
	more, err := packOne(modules, "")
	return append(packed, more...), err
}

func packOne(entries []Entry, bcj string) ([]byte, error) {
	var archive bytes.Buffer
	if err := Write(&archive, Reproducible(entries)); err != nil {
		return nil, err
	}
	return XZ(archive.Bytes(), bcj)
}

// Unpack reads what Pack wrote: every archive's entries, in order.
// maxData bounds the size of any one member's data.
func Unpack(packed []byte, maxData int) ([]Entry, error) {
	archives, err := Unxz(packed)
	if err != nil {
		return nil, err
	}
	return ReadAll(bytes.NewReader(archives), maxData)
}

// ReadAll parses concatenated archives up to the end of r, skipping the
// zero bytes the kernel also skips between them.
func ReadAll(r io.Reader, maxData int) ([]Entry, error) {
	br := bufio.NewReader(r)
	var out []Entry
	for archives := 0; ; archives++ {
		b, err := br.Peek(1)
		for err == nil && b[0] == 0 {
			_, _ = br.Discard(1) // Peek has the byte: Discard cannot fail
			b, err = br.Peek(1)
		}
		switch {
		case errors.Is(err, io.EOF) && archives > 0:
			return out, nil
		case errors.Is(err, io.EOF):
			return nil, fmt.Errorf("%w: no archive", ErrFormat)
		case err != nil:
			return nil, err
		}
		es, err := Read(br, maxData)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
}
