package rtnl

import (
	"hash/fnv"
	"strconv"
)

// MaxNameLen is the longest interface name Linux takes (IFNAMSIZ-1).
const MaxNameLen = 15

// HostName names the host end of a container's index-th interface:
// "pv", the FNV-1a 32-bit hash of the container name as 8 hex digits,
// then index in decimal ("pv1c2d3e4f0"). Names are unique per (container,
// index) unless two container names collide in 32 bits (creating the
// second pair then fails with EEXIST, naming the link), and at most
// MaxNameLen bytes for index < 100000.
func HostName(container string, index int) string {
	h := fnv.New32a()
	h.Write([]byte(container))
	s := strconv.FormatUint(uint64(h.Sum32()), 16)
	for len(s) < 8 {
		s = "0" + s
	}
	return "pv" + s + strconv.Itoa(index)
}
