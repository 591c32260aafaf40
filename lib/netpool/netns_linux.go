package netpool

import (
	"runtime"

	"pantavisor/lib/printf"
	"pantavisor/lib/rtnl"
)

// dial opens an rtnetlink connection in namespace h (0: the caller's).
func dial(h rtnl.Netns) (*rtnl.Conn, error) {
	if h == 0 {
		return rtnl.Dial()
	}
	return rtnl.DialNetns(h)
}

// inNetns runs f on a thread inside network namespace h (0: the caller's
// own, no switch), for what acts on the calling thread's namespace:
// nftables sockets and /proc/sys/net. If the thread cannot return to its
// namespace it stays locked, so Go retires it rather than reuse it.
func inNetns(h rtnl.Netns, f func() error) error {
	if h == 0 {
		return f()
	}
	runtime.LockOSThread()
	orig, err := rtnl.CurrentNetns()
	if err != nil {
		runtime.UnlockOSThread()
		return printf.Errorf("current network namespace: %w", err)
	}
	defer orig.Close()
	if err := h.Enter(); err != nil {
		runtime.UnlockOSThread()
		return printf.Errorf("entering the host network namespace: %w", err)
	}
	ferr := f()
	if err := orig.Enter(); err != nil {
		return printf.Errorf("returning to the network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
