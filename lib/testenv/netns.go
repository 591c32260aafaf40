package testenv

import (
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netns"
)

// NewNetns creates an anonymous network namespace for t and returns a
// handle to it, closed (and so the namespace freed once nothing else is
// in it) when t ends. The calling goroutine's thread is back in its own
// namespace when NewNetns returns: nothing of the machine's network is
// touched, and tests work in the namespace through handles (rtnl.DialNetns).
func NewNetns(t testing.TB) netns.NsHandle {
	t.Helper()
	RequireRoot(t)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current network namespace: %v", err)
	}
	defer orig.Close()
	h, err := netns.New() // unshare(CLONE_NEWNET) on this thread
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("new network namespace: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		// The thread stays locked: Go retires it when the test's goroutine ends.
		t.Fatalf("returning to the original network namespace: %v", err)
	}
	runtime.UnlockOSThread()
	t.Cleanup(func() { h.Close() })
	return h
}

// InNetns runs f on a thread inside network namespace h (for /proc/thread-self/net
// reads or sockets that must be opened there) and returns to the thread's
// namespace afterwards.
func InNetns(t testing.TB, h netns.NsHandle, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current network namespace: %v", err)
	}
	defer orig.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering network namespace %s: %v", h, err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			t.Fatalf("returning to the original network namespace: %v", err)
		}
		runtime.UnlockOSThread()
	}()
	f()
}

// openNetns lists the network namespaces open as this process's file
// descriptors, as "net:[inode]", sorted (one entry per descriptor).
func openNetns() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(l, "net:[") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// links lists the link names of the namespaces hosts, sorted, each
// prefixed by its namespace's position in hosts when there are several
// ("1/eth0"). The dump is made on a thread inside each namespace (the
// route socket belongs to its opener's namespace).
func links(t testing.TB, hosts []netns.NsHandle) []string {
	t.Helper()
	var out []string
	for i, h := range hosts {
		var ifs []net.Interface
		var err error
		InNetns(t, h, func() { ifs, err = net.Interfaces() })
		if err != nil {
			t.Fatalf("listing the links of network namespace %s: %v", h, err)
		}
		for _, l := range ifs {
			name := l.Name
			if len(hosts) > 1 {
				name = strconv.Itoa(i) + "/" + name
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
