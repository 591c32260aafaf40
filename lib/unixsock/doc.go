// Package unixsock opens AF_UNIX stream sockets as pollable *os.File
// values: listen, accept with the peer's pid, dial, and pass file
// descriptors. It needs no net package.
package unixsock
