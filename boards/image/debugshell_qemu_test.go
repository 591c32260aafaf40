package image

import (
	"context"
	"io"
	"net/http"
	"os"
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
)

// walk drives the demo's console as the README's walk does.
type walk struct {
	t     *testing.T
	vm    *qemu.VM
	url   string
	start time.Time
}

// expect waits for re on the console (after the previous match).
func (w *walk) expect(re string, timeout time.Duration, what string) string {
	w.t.Helper()
	m, err := w.vm.Expect(regexp.MustCompile(re), timeout)
	require.NoError(w.t, err, what)
	w.t.Logf("%5.1fs %s", time.Since(w.start).Seconds(), what)
	return m
}

// typeLine types line and Enter on the console.
func (w *walk) typeLine(line string) {
	w.t.Helper()
	require.NoError(w.t, w.vm.Send(line+"\r"))
}

// page waits until the web page (through the device's port forward)
// satisfies ok, and returns it.
func (w *walk) page(ok func(string) bool, what string) string {
	w.t.Helper()
	var page string
	require.Eventually(w.t, func() bool {
		resp, err := http.Get(w.url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page = string(b)
		return resp.StatusCode == 200 && ok(page)
	}, 90*time.Second, time.Second, "%s; last page:\n%s", what, page)
	w.t.Logf("%5.1fs %s", time.Since(w.start).Seconds(), what)
	return page
}

// shellPrompt is busybox ash's prompt for root ("~ # "), then its line
// editor's query for the cursor position (ESC [ 6 n), which may come in
// the same read or the next.
const shellPrompt = `# (?:\x1b\[6n)?$`

// TestQEMUDebugShellWalk is the README's first hour, typed on the serial
// console of the demo image (BuildDemo, one QEMU machine, the board's
// real modules so web is on its pool behind the port forward): Enter
// opens a shell in the mgmt container with pv-ctl on PATH and the demo
// packages at /demo; web-v2 is installed and run from it and the page
// changes without a reboot; the broken package is installed and run: its
// web exits, the reboot that rolls it back waits for the open shell (the
// console says so), `exit` closes the shell, the log view resumes, the
// device reboots into revision 0 and the page is the first one again;
// Enter opens a new shell there, which shows the broken step's ERROR.
// The commit delay is cut to 5 s (default 25) to save TCG time.
func TestQEMUDebugShellWalk(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = "pv_updater_commit_delay=5"
	b, err := boards.Load(boards.Dir(), "qemu-x86_64")
	require.NoError(t, err)
	o.Board.BSPModules = b.BSPModules
	o.ModulesDir, err = boards.ModulesRelease(qemu.KernelDir(b.Name))
	require.NoError(t, err)
	o.Containers, o.Device = nil, nil // the demo's: web on the "apps" pool, port 80 forwarded to it
	o.ImageMiB = 96
	port := freePort(t)
	disk := filepath.Join(t.TempDir(), "disk.img")
	built := time.Now()
	_, err = BuildDemo(context.Background(), o, disk)
	require.NoError(t, err)
	t.Logf("demo image built in %.1fs", time.Since(built).Seconds())
	for _, p := range []string{DemoWebV2Package, DemoBrokenPackage} {
		fi, err := os.Stat(filepath.Join(o.Work, "storage", DemoDir, p))
		require.NoError(t, err)
		t.Logf("%s: %d bytes", p, fi.Size())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vm, err := qemu.Start(ctx, qemu.Options{Board: o.Board, Disks: []string{disk}, Reboot: true,
		Forwards: []string{strconv.Itoa(port) + ":80"}}, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	defer vm.Kill()
	defer func() {
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	}()
	w := &walk{t: t, vm: vm, url: "http://127.0.0.1:" + strconv.Itoa(port) + "/", start: time.Now()}

	w.expect(`debug shell: press Enter on the console`, 180*time.Second, "the console offers the shell")
	w.expect(`revision 0 status READY`, 240*time.Second, "revision 0 READY")
	w.page(func(p string) bool { return strings.Contains(p, `<td id="status">READY</td>`) }, "the page shows READY")

	w.typeLine("")
	w.expect(`debug shell: opening`, 30*time.Second, "Enter opens the shell")
	w.expect(shellPrompt, 60*time.Second, "the shell's prompt")
	w.typeLine("which pv-ctl pvtx; ls /demo; echo shell-in-$(hostname)")
	w.expect(`/pantavisor/bin/pv-ctl\r?\n/pantavisor/bin/pvtx\r?\n`, 30*time.Second, "pv-ctl and pvtx on PATH")
	w.expect(`broken\.tgz\s+web-v2\.tgz`, 30*time.Second, "the demo packages at /demo")
	w.expect(`shell-in-\S+`, 30*time.Second, "the shell runs")

	w.typeLine("pv-ctl steps install /demo/web-v2.tgz locals/web-v2")
	w.expect(`\{"revision":"locals/web-v2"\}`, 120*time.Second, "web-v2 installed")
	w.typeLine("pv-ctl cmd run locals/web-v2")
	w.typeLine("until pv-ctl steps show-progress locals/web-v2 | grep -E 'UPDATED|ERROR'; do sleep 3; done")
	w.expect(`"status":"UPDATED"`, 240*time.Second, "web-v2 UPDATED (show-progress)")
	w.page(func(p string) bool { return strings.Contains(p, DemoWebV2Line) }, "the page is web-v2's")

	w.typeLine("pv-ctl steps install /demo/broken.tgz locals/broken")
	w.expect(`\{"revision":"locals/broken"\}`, 120*time.Second, "broken installed")
	w.typeLine("pv-ctl cmd run locals/broken")
	t.Logf("%s", w.expect(`[^\r\n]*waiting for the debug shell to close[^\r\n]*`, 240*time.Second, "the rollback waits for the shell"))
	held := vm.Mark()
	w.typeLine("exit")
	w.expect(`debug shell closed`, 30*time.Second, "exit closes the shell")
	w.expect(`Restarting system`, 120*time.Second, "the device reboots")
	w.expect(`pv: booting revision 0 \r?\n`, 120*time.Second, "GRUB boots revision 0")
	w.expect(`revision 0 status READY`, 240*time.Second, "revision 0 READY again")
	page := w.page(func(p string) bool { return strings.Contains(p, `<td id="status">READY</td>`) }, "the page answers again")
	assert.NotContains(t, page, DemoWebV2Line, "revision 0's page: web-v2 was applied without a commit")
	after := vm.Console()[held:]
	assert.Contains(t, after, "container web exited", "the held log is shown once the shell closed")

	w.typeLine("")
	w.expect(shellPrompt, 60*time.Second, "a new shell after the reboot")
	w.typeLine("pv-ctl steps show-progress locals/broken")
	w.expect(`"status":"ERROR"`, 30*time.Second, "the broken step ended in ERROR")
	w.typeLine("exit")
	w.expect(`debug shell closed`, 30*time.Second, "closed")
	assert.NotContains(t, vm.Console(), "job control turned off", "the console is the shell's controlling tty")
	t.Logf("walk: %.1fs from QEMU's start (TCG)", time.Since(w.start).Seconds())
}
