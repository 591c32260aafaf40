package swap

import (
	"crypto/rand"
	"encoding/binary"
	"io"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Magic is the signature of a version-1 swap area, in the last 10 bytes
// of its first page.
const Magic = "SWAPSPACE2"

// minPages is the smallest area mkswap makes (and that swapon accepts with
// room for any swapping at all).
const minPages = 10

// ErrTooSmall is returned for an area below minPages pages.
var ErrTooSmall error = &sentinel.Error{Text: "swap: area too small"}

// Offsets inside the first page (union swap_header in linux/swap.h): 1024
// boot bytes, then info.
const (
	offVersion  = 1024
	offLastPage = 1028
	offBadPages = 1032
	offUUID     = 1036
	offLabel    = 1052
)

// HeaderOptions tune Header. The zero value: a random UUID, no label.
type HeaderOptions struct {
	UUID  [16]byte  // zero: random (version 4)
	Label string    // at most 16 bytes
	Rand  io.Reader // nil: crypto/rand
}

// Header returns the first page of a version-1 swap area of size bytes
// with pages of pageSize bytes: version 1, last_page the index of the
// last whole page, no bad pages, the UUID and label, and Magic at the
// page's end. Writing it at offset 0 is all mkswap does.
func Header(size int64, pageSize int, opts HeaderOptions) ([]byte, error) {
	if pageSize < 4096 || pageSize&(pageSize-1) != 0 {
		return nil, printf.Errorf("swap: page size %d is not a power of two of at least 4096", pageSize)
	}
	pages := size / int64(pageSize)
	if pages < minPages {
		return nil, printf.Errorf("%w: %d bytes is %d pages of %d, want at least %d", ErrTooSmall, size, max(pages, 0), pageSize, minPages)
	}
	if pages-1 > 1<<32-1 {
		return nil, printf.Errorf("swap: %d pages do not fit a version-1 header", pages)
	}
	if len(opts.Label) > 16 {
		return nil, printf.Errorf("swap: label %q is longer than 16 bytes", opts.Label)
	}
	if opts.UUID == ([16]byte{}) {
		r := opts.Rand
		if r == nil {
			r = rand.Reader
		}
		if _, err := io.ReadFull(r, opts.UUID[:]); err != nil {
			return nil, printf.Errorf("swap: uuid: %w", err)
		}
		opts.UUID[6] = opts.UUID[6]&0x0f | 0x40
		opts.UUID[8] = opts.UUID[8]&0x3f | 0x80
	}
	b := make([]byte, pageSize)
	ne := binary.NativeEndian // the kernel reads the header in host order
	ne.PutUint32(b[offVersion:], 1)
	ne.PutUint32(b[offLastPage:], uint32(pages-1))
	ne.PutUint32(b[offBadPages:], 0)
	copy(b[offUUID:offUUID+16], opts.UUID[:])
	copy(b[offLabel:offLabel+16], opts.Label)
	copy(b[pageSize-len(Magic):], Magic)
	return b, nil
}

// Write writes a swap header for size bytes at the start of w.
func Write(w io.WriterAt, size int64, pageSize int, opts HeaderOptions) error {
	h, err := Header(size, pageSize, opts)
	if err != nil {
		return err
	}
	if _, err := w.WriteAt(h, 0); err != nil {
		return printf.Errorf("swap: writing header: %w", err)
	}
	return nil
}
