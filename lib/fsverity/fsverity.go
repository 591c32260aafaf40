// Package fsverity enables fs-verity on a file and measures its digest:
// the kernel then checks every block read against a Merkle tree whose
// root the digest commits to (Linux 5.4+, CONFIG_FS_VERITY, and on ext4
// the "verity" feature set at mkfs time).
package fsverity

import (
	"encoding/hex"
	"strings"

	"pantavisor/lib/hexbytes"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Errors callers branch on.
var (
	// ErrUnsupported: the kernel or the filesystem cannot do fs-verity
	// (no CONFIG_FS_VERITY, ext4 without -O verity, tmpfs, no sha256 in
	// the kernel, a block size the kernel does not take).
	ErrUnsupported error = &sentinel.Error{Text: "fs-verity not supported"}
	// ErrNotEnabled: the file has no fs-verity (measuring it).
	ErrNotEnabled error = &sentinel.Error{Text: "fs-verity not enabled on the file"}
	// ErrBadDigest: a digest text that Parse does not accept.
	ErrBadDigest error = &sentinel.Error{Text: "malformed fs-verity digest"}
)

// BlockSize is the Merkle tree block size Enable uses: the page and ext4
// block size of every supported board (a smaller fs block size than the
// page needs Linux 6.3+ and is refused by older kernels with EINVAL).
const BlockSize = 4096

// Digest is a file's fs-verity digest: sha256 of its fs-verity descriptor
// (file size, block size, Merkle tree root), as FS_IOC_MEASURE_VERITY
// returns it. The zero Digest is no digest.
type Digest struct {
	Algorithm uint16 // FS_VERITY_HASH_ALG_*; only sha256 (1) is made here
	Sum       []byte
}

// algorithms names the hash algorithms of fs-verity.
var algorithms = [...]struct {
	id   uint16
	name string
	size int
}{{1, "sha256", 32}, {2, "sha512", 64}}

// String is "<algorithm>:<hex>", e.g. "sha256:9f86…"; what Parse reads.
func (d Digest) String() string {
	name := printf.Sprintf("alg%d", d.Algorithm)
	for _, a := range algorithms {
		if a.id == d.Algorithm {
			name = a.name
		}
	}
	return name + ":" + hex.EncodeToString(d.Sum)
}

// Equal reports whether d and o are the same digest.
func (d Digest) Equal(o Digest) bool {
	return d.Algorithm == o.Algorithm && string(d.Sum) == string(o.Sum)
}

// Parse reads a digest written by String (surrounding white space
// ignored); anything else is an ErrBadDigest error.
func Parse(s string) (Digest, error) {
	name, hexSum, ok := strings.Cut(strings.TrimSpace(s), ":")
	for _, a := range algorithms {
		if !ok || a.name != name {
			continue
		}
		sum, ok := hexbytes.Decode(hexSum)
		if !ok || len(sum) != a.size {
			break
		}
		return Digest{Algorithm: a.id, Sum: sum}, nil
	}
	return Digest{}, printf.Errorf("%w: %q", ErrBadDigest, s)
}
