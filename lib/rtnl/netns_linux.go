package rtnl

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Netns is an open network namespace, its file descriptor; the zero value
// means the caller's namespace. It stands for vishvananda/netns's
// NsHandle, whose String method and path building format with package
// fmt: a handle in a struct that is stored in an interface keeps that
// method, and fmt's printer, linked (README "Size budget").
type Netns int

// Close closes the descriptor.
func (n Netns) Close() error { return unix.Close(int(n)) }

// Enter moves the calling thread (locked by the caller) into n.
func (n Netns) Enter() error { return unix.Setns(int(n), unix.CLONE_NEWNET) }

// CurrentNetns opens the calling thread's network namespace (the caller
// has locked its OS thread).
func CurrentNetns() (Netns, error) { return openNetns("/proc/thread-self/ns/net") }

// NetnsOfPid opens the network namespace of process pid.
func NetnsOfPid(pid int) (Netns, error) {
	return openNetns("/proc/" + strconv.Itoa(pid) + "/ns/net")
}

func openNetns(path string) (Netns, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return Netns(fd), nil
}
