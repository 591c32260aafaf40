// Package digest gives the SHA-256 used to verify objects. The full
// variant uses crypto/sha256 (assembly, SHA-NI/ARMv8 instructions); the
// nohub variant uses a small pure-Go implementation, because
// crypto/sha256 drags crypto/internal/fips140 into the binary (172 KB raw,
// 47 KB xz on amd64) and nohub has no TLS that would need it anyway.
package digest

// Size is the length of a SHA-256 sum in bytes.
const Size = 32
