package digest

import (
	"crypto/sha256"
	"hash"
)

// New returns a SHA-256 hash.
func New() hash.Hash { return sha256.New() }
