//go:build nohub

package digest

import "hash"

// New returns a SHA-256 hash.
func New() hash.Hash { return newSmall() }
