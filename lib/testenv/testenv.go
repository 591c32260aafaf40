// Package testenv lets tests that need the real kernel, root or QEMU say
// exactly which capability they miss: a loud skip on a developer machine, a
// failure in CI (CI=true or PV_REQUIRE_ALL=1), where every capability must
// be present.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Strict reports whether a missing capability must fail the test.
func Strict() bool {
	return os.Getenv("CI") == "true" || os.Getenv("PV_REQUIRE_ALL") == "1"
}

// Require skips (or, when Strict, fails) t unless ok; what names the
// capability, e.g. "needs root" or "needs qemu-system-x86_64 (make deps)".
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if Strict() {
		t.Fatalf("MISSING CAPABILITY (fatal in CI): %s", what)
	}
	t.Skipf("SKIPPED, MISSING CAPABILITY: %s", what)
}

// RequireRoot needs euid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "needs root")
}

// RequireLoopDevices needs root and the loop driver (/dev/loop-control).
func RequireLoopDevices(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	_, err := os.Stat("/dev/loop-control")
	Require(t, err == nil, "needs /dev/loop-control (loop module)")
}

// RequireCommand needs an executable on PATH.
func RequireCommand(t testing.TB, name, hint string) {
	t.Helper()
	_, err := exec.LookPath(name)
	Require(t, err == nil, "needs "+name+" on PATH ("+hint+")")
}

// RequireKernelFeature skips t unless ok, even in CI, for a feature the
// host kernel was built without (no setup step can add it, e.g. module
// loading on a CONFIG_MODULES=n VM kernel). coveredBy names the test that
// exercises the feature on a real kernel instead (a QEMU boot), so the
// behaviour is still proven in CI; the skip says so loudly.
func RequireKernelFeature(t testing.TB, ok bool, what, coveredBy string) {
	t.Helper()
	if !ok {
		t.Skipf("SKIPPED, HOST KERNEL LACKS A FEATURE: %s; covered by %s", what, coveredBy)
	}
}

// BusyboxApplets are the links BusyboxRootfs makes next to bin/busybox.
var BusyboxApplets = []string{"sh", "cat", "ls", "hostname", "echo", "sleep", "grep", "mount", "id",
	"touch", "readlink", "true", "false", "dd", "seq", "head", "wc"}

// BusyboxRootfs builds a squashfs image of a minimal rootfs: Debian's
// static busybox with BusyboxApplets links, the usual top directories,
// and app/up -> ../tmp and app/abs -> /etc symlinks for escape tests. It
// needs root (for -all-root ownership to matter), mksquashfs and busybox.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	RequireCommand(t, "mksquashfs", "make deps installs squashfs-tools")
	_, err := os.Stat("/bin/busybox")
	Require(t, err == nil, "needs /bin/busybox (make deps installs busybox-static)")
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "app"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	data, err := os.ReadFile("/bin/busybox")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755))
	for _, a := range BusyboxApplets {
		must(t, os.Symlink("busybox", filepath.Join(root, "bin", a)))
	}
	must(t, os.Symlink("../tmp", filepath.Join(root, "app", "up")))
	must(t, os.Symlink("/etc", filepath.Join(root, "app", "abs")))
	img := filepath.Join(t.TempDir(), "root.squashfs")
	if out, err := exec.Command("mksquashfs", root, img, "-noappend", "-quiet", "-all-root").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	return img
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Resources is what a container could leak on the host: mount points,
// loop device backing files, cgroup directories under a parent, network
// namespaces this process holds open, and the links of the network
// namespaces that stand for the device's.
type Resources struct{ Mounts, Loops, Cgroups, Netns, Links []string }

// RemoveCgroupParent removes the directory of cgroupParent in every
// hierarchy a test's containers may have used (best effort: the groups
// below must be gone already).
func RemoveCgroupParent(cgroupParent string) {
	for _, h := range []string{"pids", "memory", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "systemd", "unified"} {
		os.Remove(filepath.Join("/sys/fs/cgroup", h, cgroupParent))
	}
}

// TakeResources lists the host's mounts under dir, the loop devices
// attached to files under dir, the cgroups below cgroupParent in every
// hierarchy, the network namespaces open as this process's file
// descriptors ("net:[inode]": a handle the container code forgot keeps a
// container's namespace, and its veth pair, alive) and the links (veths,
// bridges) of each network namespace in hosts, sorted. Limiting it to
// what one test owns keeps it exact while other test packages mount
// things in parallel.
func TakeResources(t testing.TB, dir, cgroupParent string, hosts ...netns.NsHandle) Resources {
	t.Helper()
	var r Resources
	data, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir) {
			r.Mounts = append(r.Mounts, f[4])
		}
	}
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if back := strings.TrimSpace(string(b)); strings.HasPrefix(back, dir) {
			r.Loops = append(r.Loops, back)
		}
	}
	groups, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupParent + "/*")
	for _, g := range groups {
		if fi, err := os.Stat(g); err == nil && fi.IsDir() {
			r.Cgroups = append(r.Cgroups, g)
		}
	}
	r.Netns = openNetns()
	r.Links = links(t, hosts)
	sort.Strings(r.Mounts)
	sort.Strings(r.Loops)
	return r
}

// WaitResources takes the resources until they are want, for up to 10
// seconds, and returns the last ones taken: the kernel deletes a
// container's veth pair with its network namespace, asynchronously after
// the container's last process exited, and frees an autoclear loop device
// from a work queue after its last unmount (Linux 6.x), so a leak check
// right after a stop can see either for a moment.
func WaitResources(t testing.TB, want Resources, dir, cgroupParent string, hosts ...netns.NsHandle) Resources {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := TakeResources(t, dir, cgroupParent, hosts...)
		if reflect.DeepEqual(r, want) || time.Now().After(deadline) {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
}
