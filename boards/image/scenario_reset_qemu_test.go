package image

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resetVersions is how many update packages the reset loop cycles
// through: step locals/u<n> is package v<(n-1)%3+1>.tgz, so two steps in
// a row always differ (and an object GC removed is uploaded again).
const resetVersions = 3

// resetDriverInit is the mgmt container of the reset loop: an endless
// chain of updates. Booted on locals/u<k> (0 for the factory), it waits
// for a try to be DONE, then installs locals/u<k+1> from the package
// disk and runs it, and does so again (with the same step) as long as it
// is not stopped by the reboot the update asks for.
const resetDriverInit = `#!/bin/sh
trap 'exit 0' TERM INT
pvctl=/pantavisor/bin/pv-ctl
booted=0
trying=
for w in $(cat /proc/cmdline); do
	case "$w" in
	pv_rev=*) booted=${w#pv_rev=} ;;
	pv_try=*) trying=${w#pv_try=} ;;
	esac
done
k=0
case "$booted" in locals/u*) k=${booted#locals/u} ;; esac
echo "mgmt: driver: booted $booted (try ${trying:-none})"
pause() { sleep "$1" & wait $!; }
status() { $pvctl steps show-progress "$1" 2>/dev/null | sed -n 's/.*"status" *: *"\([A-Z]*\)".*/\1/p'; }
if [ -n "$trying" ]; then
	while [ "$(status "$booted")" != DONE ]; do pause 1; done
fi
n=$((k + 1))
while :; do
	step=locals/u$n
	pkg=/updates/v$(( (n - 1) % 3 + 1 )).tgz
	if $pvctl steps install "$pkg" "$step" >/tmp/install.out 2>&1; then
		echo "mgmt: driver: run $step: $($pvctl cmd run "$step" 2>&1 | tr '\n' ' ')"
	else
		echo "mgmt: driver: install $step failed: $(tail -n 2 /tmp/install.out | tr '\n' ' ')"
	fi
	pause 5
	case "$(status "$step")" in WONTGO) n=$((n + 1)) ;; esac
done
`

// resetVersion is update package v<v>: the os container prints a new
// version and carries 2 MiB of its own random bytes, so each update
// uploads and installs a real object and reboots (os is a system
// container).
func resetVersion(v int) Change {
	return func(o *Options) {
		SystemChange(strconv.Itoa(v))(o)
		rng := rand.New(rand.NewSource(int64(v)))
		blob := make([]byte, 2<<20)
		for i := range blob {
			blob[i] = byte(rng.Intn(256))
		}
		o.container("os").Files = append(o.container("os").Files, File{"app/blob", 0o644, string(blob)})
	}
}

// anyStatusRE matches the updater's progress line for any revision; status
// is a pattern.
func anyStatusRE(status string) string { return `updater: revision \S+: ` + status }

// Markers of the reset loop's phases, in pantavisor's own console lines.
var (
	bootLineRE  = regexp.MustCompile(`bootloader grub: running revision (\S+) \(trying (true|false), committed (\S+)\)`)
	grubLineRE  = regexp.MustCompile(`pv: booting revision (\S+) ?(pv_try=\S+)?`)
	readyLineRE = regexp.MustCompile(`revision (\S+) status READY`)
	updLineRE   = regexp.MustCompile(`(command LOCAL_RUN \S+|updater: [^\r\n]*|Restarting system|stopping all containers|garbage collector: [^\r\n]*|SeaBIOS|bootloader grub: [^\r\n]*)`)
)

// resetPhases are the moments the loop resets in, in turn.
var resetPhases = []string{"upload", "install", "reboot", "testing", "commit"}

// phaseWindows are the lengths of the phases, measured on the first
// update (which runs without a reset).
type phaseWindows map[string]time.Duration

// TestScenarioHardResets (e): a chain of updates (mgmt's resetDriverInit)
// runs while the host resets the machine (QMP system_reset: no shutdown)
// at least 30 times, at random moments (seeded; PV_RESET_SEED replays a
// run, PV_RESETS sets the count) in turn during the upload, the install,
// the reboot, TESTING and the commit. After each reset the machine must
// boot to READY (else a brick) on a consistent revision: the committed
// one, or one GRUB is trying; with os, mgmt and web started. At the end,
// once an update is DONE again, the storage must have pv_rev DONE, no
// revision left in an update status, and hash-correct objects.
func TestScenarioHardResets(t *testing.T) {
	seed := time.Now().UnixNano()
	if v := os.Getenv("PV_RESET_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "PV_RESET_SEED")
	}
	count := 30
	if v := os.Getenv("PV_RESETS"); v != "" {
		var err error
		count, err = strconv.Atoi(v)
		require.NoError(t, err, "PV_RESETS")
	}
	t.Logf("reset loop: seed %d (PV_RESET_SEED=%d replays it), %d resets", seed, seed, count)
	rng := rand.New(rand.NewSource(seed))

	// Shorter TESTING (commit delay 2 s, web stable after 2 s): each
	// reset costs at least a boot, so the loop is mostly boots.
	o := scenarioOptions(t, "pv_updater_commit_delay=2")
	o.group("app")["auto_recovery"].(map[string]any)["stable_timeout"] = 2
	o.container("mgmt").Init = resetDriverInit
	pkgs := map[string]string{}
	for v := 1; v <= resetVersions; v++ {
		p := filepath.Join(t.TempDir(), fmt.Sprintf("v%d.tgz", v))
		require.NoError(t, BuildUpdatePackage(context.Background(), o, resetVersion(v), p))
		pkgs[filepath.Base(p)] = p
	}
	s := bootScenario(t, o, pkgs, false)
	start := time.Now()
	w := s.firstUpdate()
	t.Logf("phases of the first update (no reset): %v", w)

	r := resetRun{s: s, rng: rng, w: w, landed: map[string]int{}, trying: true}
	for i := 0; i < count; i++ {
		if !r.reset(resetPhases[i%len(resetPhases)]) {
			break
		}
	}
	s.expect(anyStatusRE("DONE"), 300*time.Second, "after the last reset an update is DONE again")
	s.find(s.cursor, `garbage collector: `, 20*time.Second)
	doneRev := regexp.MustCompile(`updater: revision (\S+): DONE`).FindAllStringSubmatch(s.vm.Console(), -1)
	last := doneRev[len(doneRev)-1][1]

	names := make([]string, 0, len(r.landed))
	for k := range r.landed {
		names = append(names, k)
	}
	sort.Strings(names)
	var where []string
	for _, k := range names {
		where = append(where, fmt.Sprintf("%s %d", k, r.landed[k]))
	}
	t.Logf("(e) resets done %d, bricks %d, seed %d; kernel hangs before init (reset again) %d; GRUB could not load a tried revision %d; boots %d, rollback reboots %d, updates DONE %d; last line before each reset: %s; %.0fs",
		r.resets, r.bricks, seed, r.hangs, strings.Count(s.vm.Console(), "pv: cannot boot revision"), strings.Count(s.vm.Console(), "SeaBIOS ("), r.rollbacks,
		len(doneRev), strings.Join(where, ", "), time.Since(start).Seconds())
	assert.Zero(t, r.bricks, "bricks")
	assert.GreaterOrEqual(t, r.resets, count)

	st := s.powerOff()
	rev := st.checkConsistent()
	assert.Equal(t, last, rev, "pv_rev is the revision last DONE")
	env := st.env("/" + PVEnv)
	t.Logf("storage: pv_rev %s, pv_try %q, pv_trying %q, revisions %v", rev, env["pv_try"], st.env("/" + GrubEnv)["pv_trying"], st.revisions())
}

// firstUpdate lets the first update run without a reset and measures its
// phases.
func (s *scenario) firstUpdate() phaseWindows {
	s.t.Helper()
	_, mgmt := s.expect(`container mgmt started \(group platform\)`, 240*time.Second, "the factory revision boots")
	_, run := s.expect(`command LOCAL_RUN locals/u1`, 120*time.Second, "mgmt uploads and runs u1")
	_, reboot := s.expect(statusRE("locals/u1", "INPROGRESS"), 60*time.Second, "u1 is installed")
	_, boot := s.expect(bootLineRE.String(), 120*time.Second, "the try boot")
	bootLine := s.cursor
	_, testing := s.expect(statusRE("locals/u1", "TESTING"), 120*time.Second, "u1 runs")
	_, done := s.expect(statusRE("locals/u1", "DONE"), 60*time.Second, "u1 commits")
	s.cursor = bootLine // the resets' markers are searched from the current boot's line
	return phaseWindows{"upload": run.Sub(mgmt), "install": max(reboot.Sub(run), 200*time.Millisecond),
		"reboot": boot.Sub(reboot), "testing": done.Sub(testing)}
}

// resetRun is the state of the reset loop.
type resetRun struct {
	s         *scenario
	rng       *rand.Rand
	w         phaseWindows
	resets    int
	bricks    int
	rollbacks int
	hangs     int            // kernel hangs before init, reset again
	landed    map[string]int // the last update line before each reset
	trying    bool           // the current boot is a try
}

// reset waits for phase's start, resets at a random moment in it, and
// checks the boot that follows. It returns false after a brick or when
// the phase never comes.
func (r *resetRun) reset(phase string) bool {
	s, t := r.s, r.s.t
	t.Helper()
	marker := map[string]string{
		"upload":  `container mgmt started \(group platform\)`,
		"install": `command LOCAL_RUN `,
		"reboot":  anyStatusRE(`INPROGRESS "Rebooting"`),
		"testing": anyStatusRE("TESTING"),
		"commit":  anyStatusRE("TESTING"),
	}[phase]
	if phase == "upload" && r.trying {
		marker = anyStatusRE("DONE") // the driver uploads once the try is committed
	}
	_, end, seenAt := s.find(s.cursor, marker, 300*time.Second)
	if !assert.NotEqual(t, -1, end, "reset %d: the %s phase never came", r.resets+1, phase) {
		return false
	}
	win := r.w[phase]
	var delay time.Duration
	if phase == "commit" {
		delay = r.w["testing"] + time.Duration(r.rng.Int63n(int64(time.Second))) - 500*time.Millisecond
	} else {
		delay = time.Duration(r.rng.Int63n(int64(win) + 1))
	}
	time.Sleep(time.Until(seenAt.Add(delay)))
	mark := s.pos()
	before := updLineRE.FindAllString(s.vm.Console()[s.cursor:mark], -1)
	lastLine := "(none)"
	if len(before) > 0 {
		lastLine = before[len(before)-1]
		lastLine = regexp.MustCompile(`locals/u\d+`).ReplaceAllString(lastLine, "locals/uN")
		lastLine = regexp.MustCompile(` "[^"]*"$`).ReplaceAllString(lastLine, "")
	}
	r.landed[phase+": "+lastLine]++
	require.NoError(t, s.qmp.SystemReset())
	r.resets++
	t.Logf("reset %d (%s, %.1fs after its start): last line %s", r.resets, phase, delay.Seconds(), lastLine)
	return r.check(mark)
}

// check waits for the boot after the reset at mark to reach READY and
// checks it from the console; the cursor moves to its boot line.
func (r *resetRun) check(mark int) bool {
	s, t := r.s, r.s.t
	t.Helper()
	_, bios, _ := s.find(mark, `SeaBIOS \(`, 60*time.Second)
	require.NotEqual(t, -1, bios, "the machine restarts")
	for i := 0; ; i++ {
		// The kernel (TCG, after a warm reset) now and then hangs in its
		// early boot, before our init runs and arms the watchdog: do what
		// a hardware watchdog would, and count it apart from bricks.
		_, up, _ := s.find(bios, `init up at`, 120*time.Second)
		if up != -1 || i == 2 {
			break
		}
		r.hangs++
		c := s.vm.Console()
		t.Logf("reset %d: the kernel hung before init (last line %q): reset again", r.resets,
			strings.TrimSpace(c[strings.LastIndex(strings.TrimRight(c, "\r\n"), "\n")+1:]))
		m := s.pos()
		require.NoError(t, s.qmp.SystemReset())
		_, bios, _ = s.find(m, `SeaBIOS \(`, 60*time.Second)
		require.NotEqual(t, -1, bios, "the machine restarts")
	}
	_, end, _ := s.find(bios, readyLineRE.String(), 240*time.Second)
	if end == -1 {
		r.bricks++
		t.Errorf("reset %d: brick: no READY within 240 s", r.resets)
		return false
	}
	seg := s.vm.Console()[bios:end]
	boots := bootLineRE.FindAllStringSubmatchIndex(seg, -1)
	if !assert.NotEmpty(t, boots, "reset %d: a boot line", r.resets) {
		return false
	}
	r.rollbacks += len(boots) - 1
	b := boots[len(boots)-1]
	rev, trying, committed := seg[b[2]:b[3]], seg[b[4]:b[5]] == "true", seg[b[6]:b[7]]
	ready := readyLineRE.FindStringSubmatch(seg[b[1]:])
	if !assert.NotNil(t, ready, "reset %d: READY after the last boot line", r.resets) {
		return false
	}
	assert.Equal(t, rev, ready[1], "reset %d: READY is the booted revision's", r.resets)
	if trying {
		grubs := grubLineRE.FindAllStringSubmatch(seg[:b[0]], -1)
		assert.Equal(t, "pv_try="+rev, grubs[len(grubs)-1][2], "reset %d: a try of %s is GRUB's", r.resets, rev)
		assert.NotEqual(t, committed, rev, "reset %d", r.resets)
	} else {
		assert.Equal(t, committed, rev, "reset %d: not trying, so the committed revision", r.resets)
	}
	after := seg[b[1]:]
	for _, c := range []string{"os started (group root)", "mgmt started (group platform)", "web started (group app)"} {
		assert.Contains(t, after, "container "+c, "reset %d: all containers up", r.resets)
	}
	assert.NotContains(t, seg, "Kernel panic")
	r.trying = trying
	s.cursor = bios + b[1]
	return !t.Failed()
}
