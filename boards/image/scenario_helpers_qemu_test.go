package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards"
	"pantavisor/boards/qemu"
	"pantavisor/lib/bootloader"
)

// scenarioAppend keeps the update scenarios short (a 3 s commit delay,
// upstream 25 s) and puts the containers' output on the console. The
// bootloader Pantavisor keeps its env for is on the command line already
// (Cmdline: pv_bootloader_type=grub, or uboot with its latch partition).
const scenarioAppend = ConsoleLogs + " pv_updater_commit_delay=3"

// osStartLine is what the os container of a scenario prints every 2 s:
// the start time (clock ticks since boot, /proc/1/stat field 22) of its
// PID 1, which is the same only for the same process.
var osStartRE = regexp.MustCompile(`os: pid1 start (\d+)`)

// watchOS makes the os container print osStartRE's line every 2 s.
func watchOS(o *Options) {
	c := o.container("os")
	if c == nil {
		return
	}
	c.Init = strings.Replace(c.Init, "while :; do\n\tsleep 3600 &",
		"while :; do\n\techo \"os: pid1 start $(cut -d' ' -f22 /proc/1/stat)\"\n\tsleep 2 &", 1)
}

// scenario is one QEMU run of an update scenario: the factory image with
// InstallAtBoot of one package from the read-only package disk, booted
// with reboots allowed and a QMP socket.
type scenario struct {
	t     *testing.T
	board *boards.Board
	vm    *qemu.VM
	qmp   *qemu.QMP
	disk  string
	res   *Result
	rev   string // the update's revision: locals/<name>

	cursor int    // expect searches the console from here
	webURL string // the web container's page through QEMU's forward ("" without)
}

// probed is what probe saw: the first and last answer 200 and the
// longest time between two of them.
type probed struct {
	first, last time.Time
	gap         time.Duration
}

// probe polls s.webURL every 100 ms until stop is closed.
func (s *scenario) probe(stop <-chan struct{}) <-chan probed {
	out := make(chan probed, 1)
	go func() {
		c := http.Client{Timeout: time.Second}
		var p probed
		for {
			if resp, err := c.Get(s.webURL); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if now := time.Now(); resp.StatusCode == 200 {
					if p.first.IsZero() {
						p.first = now
					} else {
						p.gap = max(p.gap, now.Sub(p.last))
					}
					p.last = now
				}
			}
			select {
			case <-stop:
				out <- p
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return out
}

// scenarioOptions are the factory Options of the scenarios:
// scenarioAppend plus extra on the command line, the os container
// watched (watchOS), app's stable_timeout cut to 5 s, mgmt mounting the
// package disk.
func scenarioOptions(t *testing.T, extra string) Options {
	t.Helper()
	return scenarioBoardOptions(t, "qemu-x86_64", extra)
}

// scenarioBoardOptions are scenarioOptions for board.
func scenarioBoardOptions(t *testing.T, board, extra string) Options {
	t.Helper()
	o := qemuBoardOptions(t, board)
	o.Append = strings.TrimSpace(scenarioAppend + " " + extra)
	// The fake modules tree has no bridge or NAT: every container on the
	// device's network, as testOptions has them.
	o.Containers, o.Device = HostNetwork(Containers(), DeviceJSON())
	watchOS(&o)
	if ar, ok := o.group("app")["auto_recovery"].(map[string]any); ok {
		ar["stable_timeout"] = 5 // upstream 30: web is stable, and an update commits, sooner
	}
	if singleDisk(o.Board) {
		WithStoragePackages(&o)
	} else {
		WithPackageDisk(&o)
	}
	return o
}

// singleDisk: the board's QEMU machine takes one disk (the Pi's SD
// card): update packages go on the storage partition instead of a
// package disk.
func singleDisk(b *boards.Board) bool { return b.QEMUDrive == "sd" }

// startScenario builds scenarioOptions with mgmt running InstallAtBoot
// of <name>.tgz as locals/<name> with `pv-ctl cmd run`, the update
// package change makes of them, the package disk and the image, and
// boots it. With web, the guest's port 80 is forwarded to s.webURL.
func startScenario(t *testing.T, name string, change Change, extra string, web bool) *scenario {
	t.Helper()
	return startScenarioOn(t, "qemu-x86_64", name, change, extra, web)
}

// startScenarioOn is startScenario on board.
func startScenarioOn(t *testing.T, board, name string, change Change, extra string, web bool) *scenario {
	t.Helper()
	o := scenarioBoardOptions(t, board, extra)
	InstallAtBoot(name+".tgz", name, true)(&o)
	pkg := filepath.Join(t.TempDir(), name+".tgz")
	require.NoError(t, BuildUpdatePackage(context.Background(), o, change, pkg))
	s := bootScenario(t, o, map[string]string{name + ".tgz": pkg}, web)
	s.rev = "locals/" + name
	return s
}

// bootScenario builds the package disk of pkgs and the image of o and
// boots them (reboots allowed, a QMP socket).
func bootScenario(t *testing.T, o Options, pkgs map[string]string, web bool) *scenario {
	t.Helper()
	ctx := context.Background()
	qo := qemu.Options{Board: o.Board, Reboot: true, QMP: qmpPath(t)}
	if singleDisk(o.Board) {
		o.StorageFiles = map[string]string{}
		for name, p := range pkgs {
			o.StorageFiles[PackageStorageDir+"/"+name] = p
		}
	} else {
		pkgDisk := filepath.Join(t.TempDir(), "packages.img")
		require.NoError(t, BuildPackageDisk(ctx, pkgs, pkgDisk))
		qo.ReadOnlyDisks = []string{pkgDisk}
	}
	disk := filepath.Join(t.TempDir(), "disk.img")
	res, err := Build(ctx, o, disk)
	require.NoError(t, err)
	qo.Disks = []string{disk}
	var url string
	if web {
		port := freePort(t)
		qo.Forwards = []string{strconv.Itoa(port) + ":80"}
		url = "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	}
	qctx, cancel := context.WithCancel(context.Background())
	vm, err := qemu.Start(qctx, qo, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		vm.Kill()
		cancel()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	})
	q, err := vm.QMP()
	require.NoError(t, err)
	return &scenario{t: t, board: o.Board, vm: vm, qmp: q, disk: disk, res: res, webURL: url}
}

// expect waits for re in the console after the previous expect's match
// (pantavisor's own lines come in order) and returns the match and when
// the host saw it.
func (s *scenario) expect(re string, timeout time.Duration, why string) (string, time.Time) {
	s.t.Helper()
	m, end, at := s.find(s.cursor, re, timeout)
	require.NotEqual(s.t, -1, end, "waiting %s for %q: %s", timeout, re, why)
	s.cursor = end
	return m, at
}

// seen waits for re in the console after from, leaving the cursor of
// expect alone: containers' lines reach the console through the log
// server, later than pantavisor's own lines about the same moment.
func (s *scenario) seen(from int, re string, timeout time.Duration, why string) (string, time.Time) {
	s.t.Helper()
	m, end, at := s.find(from, re, timeout)
	require.NotEqual(s.t, -1, end, "waiting %s for %q: %s", timeout, re, why)
	return m, at
}

// find polls the console for re after from; end is -1 on timeout (QEMU
// runs with Reboot: it ends only when killed).
func (s *scenario) find(from int, re string, timeout time.Duration) (string, int, time.Time) {
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		c := s.vm.Console()
		if loc := rx.FindStringIndex(c[min(from, len(c)):]); loc != nil {
			return c[from+loc[0] : from+loc[1]], from + loc[1], time.Now()
		}
		if time.Now().After(deadline) {
			return "", -1, time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pos is the console's end so far (for seen).
func (s *scenario) pos() int { return len(s.vm.Console()) }

// q quotes a literal for a pattern.
func q(s string) string { return regexp.QuoteMeta(s) }

// statusRE matches the updater's progress line for rev and status.
func statusRE(rev, status string) string {
	return `updater: revision ` + q(rev) + `: ` + status + ` "[^"\r\n]*"`
}

// installed waits until mgmt uploaded and ran the package.
func (s *scenario) installed() time.Time {
	s.t.Helper()
	name := strings.TrimPrefix(s.rev, "locals/")
	s.expect(`revision 0 status READY`, 240*time.Second, "the factory revision boots")
	// mgmt's line passes the log server: it may come after pantavisor's
	// LOCAL_RUN line, which its next command causes.
	from := s.cursor
	_, at := s.expect(`command LOCAL_RUN `+q(s.rev), 180*time.Second, "pv-ctl cmd run sends LOCAL_RUN")
	s.seen(from, q(InstallLine(name))+`0`, 60*time.Second, "pv-ctl steps install exits 0")
	return at
}

// powerOff ends QEMU (a power cut: every write the device fsynced is in
// the image) and returns the storage for reading.
func (s *scenario) powerOff() *storageImage {
	s.t.Helper()
	require.NoError(s.t, s.qmp.Quit())
	_ = s.vm.Wait(30 * time.Second)
	st := openStorage(s.t, s.disk, s.res.Partition)
	if s.board.Bootloader == "uboot" {
		st.pvEnv = "/" + UbootEnv
	}
	return st
}

// latch returns the try-boot latch env after powerOff: GRUB's own env on
// the storage st, or U-Boot's pv.env on the FAT boot partition.
func (s *scenario) latch(st *storageImage) map[string]string {
	s.t.Helper()
	if s.board.Bootloader != "uboot" {
		return st.env("/" + GrubEnv)
	}
	out := fatFile(s.t, s.disk, s.res.Boot, bootloader.UbootLatchFile)
	require.Len(s.t, out, bootloader.BlockSize, "pv.env keeps its 1024 bytes")
	return parseEnv(string(out))
}

// storageImage is a copy of the storage partition after e2fsck replayed
// its journal (debugfs does not), read with debugfs.
type storageImage struct {
	t     *testing.T
	path  string
	pvEnv string // Pantavisor's env: "/"+PVEnv (GRUB) or "/"+UbootEnv
}

// openStorage copies partition p of disk, replays the journal and
// checks the filesystem: after a power cut ext4 must need nothing more.
func openStorage(t *testing.T, disk string, p Partition) *storageImage {
	t.Helper()
	img := filepath.Join(t.TempDir(), "storage.ext4")
	in, err := os.Open(disk)
	require.NoError(t, err)
	defer in.Close()
	fi, err := in.Stat()
	require.NoError(t, err)
	size := p.Size()
	if size <= 0 || p.Offset()+size > fi.Size() {
		size = fi.Size() - p.Offset()
	}
	buf := make([]byte, size)
	_, err = in.ReadAt(buf, p.Offset())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(img, buf, 0o644))
	out, err := exec.Command("e2fsck", "-y", "-E", "journal_only", img).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 {
		require.NoError(t, err, "e2fsck journal replay: %s", out)
	}
	out, err = exec.Command("e2fsck", "-fn", img).CombinedOutput()
	assert.NoError(t, err, "the storage filesystem is clean after the journal replay: %s", out)
	return &storageImage{t: t, path: img, pvEnv: "/" + PVEnv}
}

// cat returns a file's content ("" when missing).
func (s *storageImage) cat(path string) string {
	s.t.Helper()
	out, err := exec.Command("debugfs", "-R", "cat "+path, s.path).Output()
	require.NoError(s.t, err, "debugfs cat %s", path)
	return string(out)
}

// env returns the key=value pairs of a GRUB env block or of U-Boot's
// NUL-separated env (uboot.txt, pv.env).
func (s *storageImage) env(path string) map[string]string {
	s.t.Helper()
	return parseEnv(s.cat(path))
}

// parseEnv reads "key=value" lines of a GRUB env block (skipping its
// '#' padding) or NUL-separated entries of a U-Boot env.
func parseEnv(data string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.FieldsFunc(data, func(r rune) bool { return r == '\n' || r == 0 }) {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(k, "#") {
			m[k] = v
		}
	}
	return m
}

// progress is a revision's .pv/progress.
type progressFile struct {
	Status  string `json:"status"`
	Msg     string `json:"status-msg"`
	Retries int    `json:"retries"`
	Logs    string `json:"logs"`
}

func (s *storageImage) progress(rev string) progressFile {
	s.t.Helper()
	raw := s.cat("/trails/" + rev + "/.pv/progress")
	var p progressFile
	if strings.TrimSpace(raw) != "" {
		require.NoError(s.t, json.Unmarshal([]byte(raw), &p), "progress of %s: %s", rev, raw)
	}
	return p
}

// ls lists a directory's names (no . and ..).
func (s *storageImage) ls(dir string) []string {
	s.t.Helper()
	out, err := exec.Command("debugfs", "-R", "ls -p "+dir, s.path).Output()
	require.NoError(s.t, err)
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "/")
		if len(f) >= 6 && f[5] != "." && f[5] != ".." && f[5] != "" {
			names = append(names, f[5])
		}
	}
	return names
}

// revisions lists the trails: "0" and "locals/<name>".
func (s *storageImage) revisions() []string {
	var revs []string
	for _, n := range s.ls("/trails") {
		if n == "locals" {
			for _, l := range s.ls("/trails/locals") {
				revs = append(revs, "locals/"+l)
			}
		} else if n != "current" {
			revs = append(revs, n)
		}
	}
	return revs
}

// checkObjects dumps /objects and checks every object's sha256 is its
// name; it returns how many objects it checked.
func (s *storageImage) checkObjects() int {
	s.t.Helper()
	dir := s.t.TempDir()
	out, err := exec.Command("debugfs", "-R", "rdump /objects "+dir, s.path).CombinedOutput()
	require.NoError(s.t, err, "%s", out)
	ents, err := os.ReadDir(filepath.Join(dir, "objects"))
	require.NoError(s.t, err)
	n := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || len(e.Name()) != 64 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "objects", e.Name()))
		require.NoError(s.t, err)
		sum := sha256.Sum256(data)
		assert.Equal(s.t, e.Name(), hex.EncodeToString(sum[:]), "object %s is hash-correct", e.Name())
		n++
	}
	return n
}

// finalStatuses: no revision may be left in one of the others.
var finalStatuses = map[string]bool{"": true, "NEW": true, "DONE": true, "UPDATED": true, "WONTGO": true, "ERROR": true}

// checkConsistent asserts what every storage must show once a boot ran:
// pv_rev a revision with DONE progress (0 may be DONE "Factory
// revision"), no revision left QUEUED/DOWNLOADING/INPROGRESS/TESTING
// unless it is pv_try, objects hash-correct. It returns pv_rev.
func (s *storageImage) checkConsistent() string {
	s.t.Helper()
	env := s.env(s.pvEnv)
	rev := env["pv_rev"]
	if rev == "" {
		rev = "0"
	}
	assert.Equal(s.t, "DONE", s.progress(rev).Status, "pv_rev %s is DONE", rev)
	for _, r := range s.revisions() {
		if r == env["pv_try"] {
			continue
		}
		p := s.progress(r)
		assert.True(s.t, finalStatuses[p.Status], "revision %s is left %s %q", r, p.Status, p.Msg)
	}
	assert.Positive(s.t, s.checkObjects())
	return rev
}
