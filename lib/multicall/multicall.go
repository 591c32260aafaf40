// Package multicall names the applets of the device binary, the names it
// answers to when started through a link (busybox-style).
package multicall

// Names are the applets, sorted, as `pantavisor --list` prints them. The
// dispatch table is the other copy (it holds each applet's entry point,
// which a lib package cannot import); its test holds the two equal.
// lib/device gives them to lib/launch, which links them in every
// container's /pantavisor/bin without running the binary to ask.
var Names = [...]string{
	"init", "insmod", "modprobe", "pantavisor", "pv-container", "pv-ctl", "pvcontrol", "pventer", "pvlogger", "pvtx",
}
