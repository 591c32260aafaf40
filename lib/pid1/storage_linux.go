package pid1

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
)

// UnmountStorage flushes and unmounts the storage at dir before PID 1
// powers off or reboots; a busy mount is detached (the kernel finishes
// it). It releases crash.log first (see RecordCrashes) and reports on
// console.
func UnmountStorage(console io.Writer, dir string) {
	_ = debug.SetCrashOutput(nil, debug.CrashOptions{}) // release crash.log; with no file it cannot fail
	if unmount(console, dir) {
		say(console, "storage unmounted")
	}
}

// UnmountBoot flushes and unmounts the boot partition mounted at dir
// (device.MountBootLatch) the same way; dir "" is nothing to do.
func UnmountBoot(console io.Writer, dir string) {
	if dir != "" && unmount(console, dir) {
		say(console, "boot partition unmounted")
	}
}

// unmount syncs and unmounts dir, detaching it when busy; it reports
// whether the plain unmount worked.
func unmount(console io.Writer, dir string) bool {
	unix.Sync()
	if err := mount.Unmount(dir, 0); err != nil {
		say(console, "unmounting %s: %v; detaching it", dir, err)
		if err := mount.Unmount(dir, unix.MNT_DETACH); err != nil {
			say(console, "detaching %s: %v", dir, err)
		}
		return false
	}
	return true
}

// RecordCrashes makes the Go runtime copy a fatal panic's report (from
// any goroutine) to <storage>/logs/crash.log as well as the console, so
// the reason survives the reboot PID 1 then does. Failures are reported
// on console; UnmountStorage undoes it.
func RecordCrashes(console io.Writer, storage string) {
	dir := filepath.Join(storage, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		say(console, "crash log: %v", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "crash.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		say(console, "crash log: %v", err)
		return
	}
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		say(console, "crash log: %v", err)
	}
	f.Close() // SetCrashOutput keeps its own duplicate
}
