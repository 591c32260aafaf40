// Package digest gives the SHA-256 used to verify objects: crypto/sha256
// in every build. (The nohub build once had a small pure-Go SHA-256 to keep
// crypto/internal/fips140 out of the binary; lib/pvs's signature checks
// link it in both builds now, and the small copy beside it cost 1.2 KB xz.)
package digest

// Size is the length of a SHA-256 sum in bytes.
const Size = 32
