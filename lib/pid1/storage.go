package pid1

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
)

// ProcField returns the value of the "<field>" line of a /proc file.
func ProcField(path, field string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// UnmountStorage flushes and unmounts the storage before PID 1 powers off
// or reboots; a busy mount is detached (the kernel finishes it).
func UnmountStorage(dir string, logf func(string, ...any)) {
	debug.SetCrashOutput(nil, debug.CrashOptions{}) // release crash.log
	unix.Sync()
	if err := mount.Unmount(dir, 0); err != nil {
		logf("unmounting %s: %v; detaching it", dir, err)
		mount.Unmount(dir, unix.MNT_DETACH)
		return
	}
	logf("storage unmounted")
}

// RecordCrashes makes the Go runtime copy a fatal panic's report (from
// any goroutine) to /storage/logs/crash.log as well as the console, so the
// reason survives the reboot PID 1 then does.
func RecordCrashes(storage string, logf func(string, ...any)) {
	dir := filepath.Join(storage, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("crash log: %v", err)
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "crash.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		logf("crash log: %v", err)
		return
	}
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		logf("crash log: %v", err)
	}
	f.Close() // SetCrashOutput keeps its own duplicate
}
