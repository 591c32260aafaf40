// Package fetch downloads the objects of a revision from the hub into the
// storage: resumably (a partial object survives a dropped connection or a
// reboot and continues with a Range request), a few at a time, hashing
// while streaming, and installing an object only when its content hashes
// to its id.
//
// The hub decides nothing about paths: an object's file name is its sha256
// id (validated as 64 lowercase hex digits before any file operation); its
// URL is only requested. Memory use does not depend on object sizes: each
// download streams through one fixed buffer.
package fetch
