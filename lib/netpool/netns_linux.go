package netpool

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"

	"pantavisor/lib/rtnl"
)

// dial opens an rtnetlink connection in namespace h (0: the caller's).
func dial(h netns.NsHandle) (*rtnl.Conn, error) {
	if h == 0 {
		return rtnl.Dial()
	}
	return rtnl.DialNetns(h)
}

// inNetns runs f on a thread inside network namespace h (0: the caller's
// own, no switch), for what acts on the calling thread's namespace:
// nftables sockets and /proc/sys/net. If the thread cannot return to its
// namespace it stays locked, so Go retires it rather than reuse it.
func inNetns(h netns.NsHandle, f func() error) error {
	if h == 0 {
		return f()
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering the host network namespace: %w", err)
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("returning to the network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
