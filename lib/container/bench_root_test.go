package container

// Container start latency against Debian's crun, run by make
// bench-container (which prints the ratio ours/crun from the figures of
// the same run). Benchmarks report figures; they never assert on time.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/loop"
	"pantavisor/lib/mount"
	"pantavisor/lib/testenv"
	"pantavisor/lib/volume"
)

// BenchmarkStartTrue starts containers of ours running /bin/true from the
// busybox squashfs, each with a fresh overlay upper/work on a tmpfs, and
// reports ms/start (until Start returns: the init was exec'd) and ms/run
// (start to exit). Variants:
//   - premounted: one squashfs mount for all starts (what crun gets);
//   - ownmount: a loop device and squashfs mount per start, as Pantavisor
//     does for a root volume (ms/mount is that part; it is included in
//     ms/start and ms/run; the unmount after the exit is not);
//   - premounted-binary: premounted with the stage of the device binary
//     named by $PV_BENCH_BINARY (make bench-container builds it) instead
//     of this test binary;
//   - premounted-vs-crun: premounted and BenchmarkCrunTrue's crun run
//     alternately, so that both see the same machine load; it reports
//     ms/crun and the ratio ours/crun of the mean ms/run;
//   - ownmount-vs-crun: a revision's container started and restarted as
//     the device does it: volume.Mount with the revision's volume.Shared,
//     made empty before the timer, so the first start makes the loop
//     device and squashfs mount (cold page cache) and the others reuse
//     it; each start binds it on the volume point; alternating with crun;
//   - spawned-ownmount-vs-crun: ownmount-vs-crun with each stage spawned
//     (Spawn) and up (Ready) before the timer, as the device's
//     lib/launch.Ahead has it at a start it prepared (revision start,
//     scheduled restart);
//   - restart-vs-crun: restarts only (auto_recovery, pv-ctl containers
//     restart): as ownmount-vs-crun with the image mounted once before
//     the timer; alternating with crun;
//   - coldmount-vs-crun: every start is a first start: a fresh
//     volume.Shared per start (its own loop device and squashfs mount,
//     cold page cache), retired after the exit; alternating with crun;
//   - spawned-restart-vs-crun: restart-vs-crun with the stage spawned
//     (Spawn) and up (Ready) before the timer, as a stage spawned ahead of
//     need would be: the timed part is the volume bind, Stage.Start (the handshake,
//     the stage's steps, the exec of the init) and the run.
//
// The *-vs-crun variants run the stage of the device binary when
// $PV_BENCH_BINARY names it (make bench-container does), as a device does.
func BenchmarkStartTrue(b *testing.B) {
	img := benchImage(b)
	premounted := func(b *testing.B) lowerFunc {
		lower := b.TempDir()
		if err := benchMountImage(img, lower); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { mount.Unmount(lower, unix.MNT_DETACH) })
		return func(string) (string, func() error, error) { return lower, func() error { return nil }, nil }
	}
	b.Run("premounted", func(b *testing.B) { benchStart(b, newBenchRunner(b, "", premounted(b)), nil) })
	b.Run("ownmount", func(b *testing.B) {
		benchStart(b, newBenchRunner(b, "", func(dir string) (string, func() error, error) {
			lower := filepath.Join(dir, "lower")
			return lower, func() error { return mount.Unmount(lower, 0) }, benchMountImage(img, lower)
		}), nil)
	})
	b.Run("premounted-binary", func(b *testing.B) {
		bin := os.Getenv("PV_BENCH_BINARY")
		testenv.Require(b, bin != "", "needs PV_BENCH_BINARY=path of the device binary (make bench-container sets it)")
		benchStart(b, newBenchRunner(b, bin, premounted(b)), nil)
	})
	bin := os.Getenv("PV_BENCH_BINARY")
	b.Run("premounted-vs-crun", func(b *testing.B) {
		benchStart(b, newBenchRunner(b, bin, premounted(b)), newCrunRunner(b, img))
	})
	shared := func(b *testing.B) *volume.Shared {
		sh := &volume.Shared{Dir: filepath.Join(benchTmpfs(b), "shared")}
		b.Cleanup(func() { sh.Retire() })
		return sh
	}
	b.Run("ownmount-vs-crun", func(b *testing.B) {
		sh := shared(b)
		benchStart(b, newBenchRunner(b, bin, func(dir string) (string, func() error, error) {
			return volumeLower(sh, img, dir)
		}), newCrunRunner(b, img))
	})
	b.Run("spawned-ownmount-vs-crun", func(b *testing.B) {
		sh := shared(b)
		r := newBenchRunner(b, bin, func(dir string) (string, func() error, error) {
			return volumeLower(sh, img, dir)
		})
		r.spawnAhead = true
		benchStart(b, r, newCrunRunner(b, img))
	})
	b.Run("restart-vs-crun", func(b *testing.B) {
		sh := shared(b)
		_, release, err := volumeLower(sh, img, b.TempDir())
		if err == nil {
			err = release() // the Shared keeps the mount, idle, as after a container's exit
		}
		if err != nil {
			b.Fatal(err)
		}
		benchStart(b, newBenchRunner(b, bin, func(dir string) (string, func() error, error) {
			return volumeLower(sh, img, dir)
		}), newCrunRunner(b, img))
	})
	b.Run("spawned-restart-vs-crun", func(b *testing.B) {
		sh := shared(b)
		_, release, err := volumeLower(sh, img, b.TempDir())
		if err == nil {
			err = release()
		}
		if err != nil {
			b.Fatal(err)
		}
		r := newBenchRunner(b, bin, func(dir string) (string, func() error, error) {
			return volumeLower(sh, img, dir)
		})
		r.spawnAhead = true
		benchStart(b, r, newCrunRunner(b, img))
	})
	b.Run("coldmount-vs-crun", func(b *testing.B) {
		benchStart(b, newBenchRunner(b, bin, func(dir string) (string, func() error, error) {
			sh := &volume.Shared{Dir: filepath.Join(dir, "shared")}
			lower, release, err := volumeLower(sh, img, dir)
			if err != nil {
				return "", nil, errors.Join(err, sh.Retire())
			}
			return lower, func() error { return errors.Join(release(), sh.Retire()) }, nil
		}), newCrunRunner(b, img))
	})
}

// volumeLower mounts img as a container's root volume the way lib/launch
// does (volume.Mount of a Set with the Shared sh) below dir, and gives
// its volume point and how to unmount it.
func volumeLower(sh *volume.Shared, img, dir string) (string, func() error, error) {
	set := volume.Set{Container: "c1", Dir: filepath.Join(dir, "volumes"), ImageDir: filepath.Dir(img),
		Images: []string{filepath.Base(img)}, Shared: sh}
	m, err := volume.Mount(set)
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(set.Dir, filepath.Base(img)), m.Unmount, nil
}

// benchStart runs b.N containers with r, each followed by one crun run
// when c is not nil, and reports the means; with crun also the medians
// of both and their ratio (less sensitive to a loaded machine's spikes).
func benchStart(b *testing.B, r *benchRunner, c *crunRunner) {
	var sum startTimes
	var crun time.Duration
	var ours, theirs []time.Duration
	b.ResetTimer()
	for i := range b.N {
		t, err := r.run(i)
		if err != nil {
			b.Fatal(err)
		}
		sum = startTimes{sum.mounted + t.mounted, sum.started + t.started, sum.ran + t.ran}
		ours = append(ours, t.ran)
		if c != nil {
			took, err := c.run(i)
			if err != nil {
				b.Fatal(err)
			}
			crun += took
			theirs = append(theirs, took)
		}
	}
	b.StopTimer()
	b.ReportMetric(msPer(sum.mounted, b.N), "ms/mount")
	b.ReportMetric(msPer(sum.started, b.N), "ms/start")
	b.ReportMetric(msPer(sum.ran, b.N), "ms/run")
	if c != nil {
		b.ReportMetric(msPer(crun, b.N), "ms/crun")
		b.ReportMetric(float64(sum.ran)/float64(crun), "ours/crun")
		mo, mc := median(ours), median(theirs)
		b.ReportMetric(msPer(mo, 1), "ms/run-median")
		b.ReportMetric(msPer(mc, 1), "ms/crun-median")
		b.ReportMetric(float64(mo)/float64(mc), "ours/crun-median")
	}
}

// median is the middle value of d (which it sorts).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// lowerFunc gives the rootfs lower dir for an iteration's directory and
// how to release it after the exit.
type lowerFunc func(dir string) (lower string, release func() error, err error)

// startTimes are one container's figures (or their sum), all counted from
// before the lower dir is made ready: lower ready, Start returned, exited.
type startTimes struct{ mounted, started, ran time.Duration }

// benchRunner starts containers of ours, one directory per iteration
// under a tmpfs.
type benchRunner struct {
	base       string
	console    *bytes.Buffer
	opts       Options
	lowerFor   lowerFunc
	spawnAhead bool // Spawn before the timer starts, Stage.Start after
}

// newBenchRunner uses the stage of bin ("" = this test binary).
func newBenchRunner(b *testing.B, bin string, lowerFor lowerFunc) *benchRunner {
	r := &benchRunner{base: benchTmpfs(b), console: &bytes.Buffer{}, lowerFor: lowerFor}
	r.opts = testOptions(r.console)
	if bin != "" {
		r.opts.Exe, r.opts.Args = bin, []string{"pv-container", StageArg}
	}
	return r
}

// run starts container i, waits for its exit and releases its lower dir.
func (r *benchRunner) run(i int) (startTimes, error) {
	dir := filepath.Join(r.base, strconv.Itoa(i))
	spec, err := benchSpec(dir)
	if err != nil {
		return startTimes{}, err
	}
	r.console.Reset()
	var stage *Stage
	if r.spawnAhead {
		if stage, err = Spawn(r.opts); err != nil {
			return startTimes{}, err
		}
		defer stage.Close()                   // a no-op once started
		if err := stage.Ready(); err != nil { // up and idle, as when spawned ahead of need
			return startTimes{}, err
		}
	}
	t0 := time.Now()
	lower, release, err := r.lowerFor(dir)
	if err != nil {
		return startTimes{}, err
	}
	t1 := time.Now()
	spec.Lower = []string{lower}
	var p *Process
	if stage != nil {
		p, err = stage.Start(spec, r.opts)
	} else {
		p, err = Start(spec, r.opts)
	}
	if err != nil {
		return startTimes{}, err
	}
	t2 := time.Now()
	code := p.Wait()
	t := startTimes{t1.Sub(t0), t2.Sub(t0), time.Since(t0)}
	if code != 0 {
		return t, fmt.Errorf("container %d exited %d: %q", i, code, r.console.String())
	}
	return t, release()
}

// BenchmarkCrunTrue runs the same /bin/true from the same squashfs,
// mounted once, with `crun run` of an OCI bundle (namespaces pid, mount,
// ipc, uts, network; the /dev, /proc and hostname our spec has; no cgroup
// limits), and reports ms/run (crun started to crun exited).
func BenchmarkCrunTrue(b *testing.B) {
	c := newCrunRunner(b, benchImage(b))
	var ran time.Duration
	b.ResetTimer()
	for i := range b.N {
		took, err := c.run(i)
		if err != nil {
			b.Fatal(err)
		}
		ran += took
	}
	b.StopTimer()
	b.ReportMetric(msPer(ran, b.N), "ms/run")
}

// crunRunner runs `crun run` of one bundle from a goroutine whose thread
// is in the mount namespace of enterCrunMountNS, one run per request.
type crunRunner struct {
	bundle, state string
	ids           chan string
	results       chan crunResult
}

type crunResult struct {
	took time.Duration
	err  error
}

// newCrunRunner mounts img, writes the bundle and starts the goroutine;
// the end of b stops it.
func newCrunRunner(b *testing.B, img string) *crunRunner {
	testenv.RequireCommand(b, "crun", "make bench-container installs it")
	rootfs := b.TempDir()
	c := &crunRunner{bundle: b.TempDir(), state: b.TempDir(), ids: make(chan string), results: make(chan crunResult)}
	if err := benchMountImage(img, rootfs); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mount.Unmount(rootfs, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), crunConfig(rootfs), 0o644); err != nil {
		b.Fatal(err)
	}
	go c.serve()
	b.Cleanup(func() { close(c.ids) })
	return c
}

// run runs container i and returns how long crun took.
func (c *crunRunner) run(i int) (time.Duration, error) {
	c.ids <- "pvbench-" + strconv.Itoa(i)
	r := <-c.results
	return r.took, r.err
}

// serve answers requests until ids is closed. Its thread is never
// unlocked, so it ends with the goroutine, namespace and all.
func (c *crunRunner) serve() {
	runtime.LockOSThread()
	err := enterCrunMountNS()
	for id := range c.ids {
		if err != nil {
			c.results <- crunResult{err: err}
			continue
		}
		var out bytes.Buffer
		cmd := exec.Command("crun", "--root", c.state, "run", "--bundle", c.bundle, id)
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		r := crunResult{took: time.Since(t0)}
		if err != nil {
			r.err = fmt.Errorf("crun run %s: %w: %s", id, err, out.Bytes())
		}
		c.results <- r
	}
}

// crunConfig is the OCI config of the crun run: what our benchmark spec
// asks of our launcher, on a read-only root (crun cannot overlay).
func crunConfig(rootfs string) []byte {
	return []byte(`{"ociVersion": "1.0.0",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
  "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": ` + strconv.Quote(rootfs) + `, "readonly": true},
 "hostname": "c1",
 "mounts": [
  {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "nodev", "noexec"]},
  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "mode=755", "size=512k"]},
  {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
   "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
  {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "nodev", "mode=1777"]},
  {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "nodev", "noexec"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}, {"type": "network"}]}}
`)
}

// enterCrunMountNS gives the calling thread (locked, never to be
// unlocked) a mount namespace of its own without the cgroup2 mount of a
// hybrid layout: Debian's crun 1.8 refuses hybrid mode ("cgroups in hybrid
// mode not supported, drop all controllers from cgroupv2") and sees plain
// cgroup v1 there. Children forked from the thread inherit the namespace;
// its mounts are made private first, so the host's are never touched.
func enterCrunMountNS() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	if err := mount.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	err := mount.Unmount("/sys/fs/cgroup/unified", 0)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// benchImage builds a busybox squashfs (as busyboxImage, for a benchmark)
// with the applet links sh and true.
func benchImage(b *testing.B) string {
	b.Helper()
	testenv.RequireRoot(b)
	testenv.RequireCommand(b, "mksquashfs", "make deps installs squashfs-tools")
	_, err := os.Stat("/bin/busybox")
	testenv.Require(b, err == nil, "needs /bin/busybox (make deps installs busybox-static)")
	root := b.TempDir()
	if err := benchDirs(root, "bin", "proc", "sys", "dev", "tmp", "etc"); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile("/bin/busybox")
	if err == nil {
		err = os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755)
	}
	for _, a := range []string{"sh", "true"} {
		if err == nil {
			err = os.Symlink("busybox", filepath.Join(root, "bin", a))
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	img := filepath.Join(b.TempDir(), "root.squashfs")
	if out, err := exec.Command("mksquashfs", root, img, "-noappend", "-quiet", "-all-root").CombinedOutput(); err != nil {
		b.Fatalf("mksquashfs: %v: %s", err, out)
	}
	return img
}

// benchMountImage loop-mounts img read-only on dir, as the volume code does.
func benchMountImage(img, dir string) error {
	dev, err := loop.Attacher{}.Attach(img, true)
	if err != nil {
		return err
	}
	defer dev.Close()
	return mount.Mount(dev.Path, dir, "squashfs", unix.MS_RDONLY, "")
}

// benchTmpfs mounts a tmpfs for the overlay upper and work dirs.
func benchTmpfs(b *testing.B) string {
	dir := b.TempDir()
	if err := mount.Mount("bench", dir, "tmpfs", 0, "mode=755"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mount.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// benchSpec is testSpec's container running /bin/true, in dir (Lower is
// set by the caller).
func benchSpec(dir string) (*Spec, error) {
	if err := benchDirs(dir, "rootfs", "upper", "work", "lower"); err != nil {
		return nil, err
	}
	return &Spec{
		Name: "c1", Root: filepath.Join(dir, "rootfs"),
		Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"),
		Mounts:  []Mount{{Source: "proc", Target: "proc", FSType: "proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, Create: "dir"}},
		Autodev: true, Hostname: "c1", Env: []string{"PATH=/bin"}, Args: []string{"/bin/true"},
	}, nil
}

func benchDirs(root string, names ...string) error {
	for _, d := range names {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// msPer is the mean of total over n, in milliseconds.
func msPer(total time.Duration, n int) float64 {
	return float64(total) / float64(n) / float64(time.Millisecond)
}
