package testenv

import (
	"runtime"
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
