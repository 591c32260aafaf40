package bootloader

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/cmdline"
	"pantavisor/lib/persist"
	"pantavisor/lib/progress"
)

// Environment of the crash child (see TestMain).
const (
	envDir      = "PV_TEST_BOOT_DIR"
	envKind     = "PV_TEST_BOOT_KIND"
	envScenario = "PV_TEST_BOOT_SCENARIO"
	envVariant  = "PV_TEST_BOOT_VARIANT"
	envAt       = "PV_TEST_BOOT_CRASH_AT"
	crashExit   = 77
)

// Scenarios: revision 1 is installed over factory revision 0, then its
// try either commits (good) or is reset before committing (bad).
const (
	scenarioGood = "good"
	scenarioBad  = "bad"
)

// Variants that replay upstream's choices, to show what they break.
const (
	ours          = ""
	upstreamLatch = "upstream-latch" // the firmware clears pv_trying when it rolls back
	upstreamOrder = "upstream-order" // progress DONE is written before the env commit
)

// TestMain serves the crash child: it plays a device through a scenario
// and dies at crash point N, as a power cut would stop it.
func TestMain(m *testing.M) {
	if dir := os.Getenv(envDir); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func crashChild(dir string) int {
	n, _ := strconv.Atoi(os.Getenv(envAt))
	count := 0
	w := &persist.Writer{Crash: func(point string) {
		if count++; count == n {
			fmt.Fprintf(os.Stderr, "crash at %d: %s\n", n, point)
			os.Exit(crashExit)
		}
	}}
	d := device{dir: dir, kind: os.Getenv(envKind), variant: os.Getenv(envVariant), w: w}
	if err := d.scenario(os.Getenv(envScenario)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// device is a simulated device on a storage dir: its bootloader (the
// latch of grub.cfg, or ours for direct), its init (Choose), its updater
// (DecideResume applied, Install, Commit) and a progress file per
// revision. Every boot is appended to dir/bootlog ("<rev> try|run").
type device struct {
	dir, kind, variant string
	w                  *persist.Writer
}

func (d device) open() (*Boot, error) {
	b, err := openBoot(Options{Writer: d.w}, d.kind, d.dir)
	if err != nil {
		return nil, fmt.Errorf("env does not parse: %w", err)
	}
	return b, nil
}

// firmware plays the bootloader and returns the kernel command line.
func (d device) firmware() (string, error) {
	b, err := d.open()
	if err != nil || b.Direct {
		return "", err
	}
	if d.variant == upstreamLatch && b.Pending() != "" && b.Pending() == get(b.latch(), KeyTrying) {
		return "pv_rev=" + b.Committed(), clearLatch(b.latch())
	}
	b.Direct = true // the same latch as our direct init
	rev, trying, err := b.Choose(nil)
	if trying {
		return "pv_rev=" + rev + " pv_try=" + rev, err
	}
	return "pv_rev=" + rev, err
}

// boot runs the firmware, the init's Choose and the updater's resume.
// It returns the updater's Boot, the running revision and whether it is
// a try that is still on (not rolled back by resume).
func (d device) boot() (*Boot, string, bool, error) {
	cl, err := d.firmware()
	if err != nil {
		return nil, "", false, err
	}
	b, err := d.open()
	if err != nil {
		return nil, "", false, err
	}
	rev, trying, err := b.Choose(cmdline.Parse(cl))
	if err != nil {
		return nil, "", false, err
	}
	d.log(rev, trying)
	r := DecideResume(ResumeState{Booted: rev, Trying: trying, EnvRev: get(b.Env, KeyRev), EnvTry: b.Pending(),
		BootedStatus: d.status(rev), TryStatus: d.status(b.Pending())})
	if err := d.apply(b, r); err != nil {
		return nil, "", false, err
	}
	return b, rev, trying && !r.Reboot, nil
}

// apply does what r says, in its documented order.
func (d device) apply(b *Boot, r Resume) error {
	if r.Commit {
		if err := b.Commit(r.Rev); err != nil {
			return err
		}
	}
	if r.Status != "" {
		if err := d.setStatus(r.Rev, r.Status); err != nil {
			return err
		}
	}
	if r.Fail {
		return b.Fail()
	}
	return nil
}

// commit is the updater's end of a good try: env commit first, then DONE.
func (d device) commit(b *Boot, rev string) error {
	if err := d.setStatus(rev, progress.Testing); err != nil {
		return err
	}
	if d.variant == upstreamOrder {
		if err := d.setStatus(rev, progress.Done); err != nil {
			return err
		}
	}
	if err := b.Commit(rev); err != nil {
		return err
	}
	return d.setStatus(rev, progress.Done)
}

// scenario: boot factory, install 1, reboot into its try; good: commit
// and reboot; bad: reset during the try, reboot (rolled back), reboot.
func (d device) scenario(name string) error {
	b, _, _, err := d.boot()
	if err != nil {
		return err
	}
	if err := b.Install("1"); err != nil {
		return err
	}
	if err := d.setStatus("1", progress.InProgress); err != nil {
		return err
	}
	b, rev, trying, err := d.boot()
	if err != nil || !trying || rev != "1" {
		return fmt.Errorf("want a try of 1, got %s %v: %v", rev, trying, err)
	}
	if name == scenarioGood {
		if err := d.commit(b, "1"); err != nil {
			return err
		}
	}
	for range 2 {
		if _, _, _, err := d.boot(); err != nil {
			return err
		}
	}
	return nil
}

func (d device) log(rev string, trying bool) {
	f, err := os.OpenFile(filepath.Join(d.dir, "bootlog"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		fmt.Fprintf(f, "%s %s\n", rev, map[bool]string{true: "try", false: "run"}[trying])
		f.Close()
	}
}

func (d device) status(rev string) string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "progress", rev))
	return string(b)
}

func (d device) setStatus(rev, status string) error {
	return d.w.WriteFile(filepath.Join(d.dir, "progress", rev), []byte(status), 0o644)
}

// tries counts the try boots of rev in the boot log.
func (d device) tries(rev string) int {
	b, _ := os.ReadFile(filepath.Join(d.dir, "bootlog"))
	return strings.Count(string(b), rev+" try\n")
}

// check asserts the invariants that hold after any crash and any boot:
// the envs parse, pv_rev is a revision that was committed, a DONE is
// never on a revision the env does not boot, no try booted twice.
func (d device) check(t *testing.T, good bool, where string) {
	t.Helper()
	b, err := d.open()
	require.NoError(t, err, where)
	committed := []string{FactoryRev}
	if good {
		committed = append(committed, "1")
	}
	require.Contains(t, committed, b.Committed(), where)
	if d.status("1") == progress.Done {
		require.Equal(t, "1", b.Committed(), "DONE on an uncommitted revision: %s", where)
	}
	require.LessOrEqual(t, d.tries("1"), 1, "revision 1 try-booted twice: %s", where)
}

// settled asserts the end state after recovery.
func (d device) settled(t *testing.T, good bool, where string) {
	t.Helper()
	b, err := d.open()
	require.NoError(t, err, where)
	require.Empty(t, b.Pending(), where)
	switch {
	case b.Committed() == "1":
		require.True(t, good, where)
		require.Equal(t, progress.Done, d.status("1"), where)
	case d.tries("1") == 1: // a bad try, or a good one reset before its commit
		require.Equal(t, progress.Error, d.status("1"), where)
	}
	require.Equal(t, progress.Done, d.status(FactoryRev), where)
	// A stale latch (a cut before a separate latch env was cleared) must
	// not fail a new try of the same revision.
	require.NoError(t, b.Install("1"), where)
	cl, err := d.firmware()
	require.NoError(t, err, where)
	b, err = d.open()
	require.NoError(t, err, where)
	rev, trying, err := b.Choose(cmdline.Parse(cl))
	require.NoError(t, err, where)
	require.True(t, trying && rev == "1", "reinstall of 1 is not tried: %s", where)
}

// crashOnce runs the scenario in a child stopped dead at crash point n
// and returns the device, whether the child finished, and a description.
func crashOnce(t *testing.T, kind, scenario, variant string, n int) (device, bool, string) {
	d := device{dir: t.TempDir(), kind: kind, variant: variant}
	require.NoError(t, os.Mkdir(filepath.Join(d.dir, "progress"), 0o755))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envDir+"="+d.dir, envKind+"="+kind, envScenario+"="+scenario,
		envVariant+"="+variant, envAt+"="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	code := cmd.ProcessState.ExitCode()
	require.Contains(t, []int{crashExit, 0}, code, "child: %v\n%s", err, out)
	return d, code == 0, fmt.Sprintf("%s %s, crash at %d (%s)", kind, scenario, n, strings.TrimSpace(string(out)))
}

// recoverBoots boots d after a crash six times (a good try commits),
// calling check after every boot.
func recoverBoots(t *testing.T, d device, good bool, check func(string)) {
	for i := range 6 {
		_, rev, trying, err := d.boot()
		require.NoError(t, err)
		check(fmt.Sprintf("recovery boot %d", i+1))
		if trying && good {
			b, err := d.open()
			require.NoError(t, err)
			require.NoError(t, d.commit(b, rev))
		}
	}
}

// crashWalk stops the scenario at crash point 1, 2, … until it finishes;
// after each stop it checks the invariants, boots the device until it
// settles (checking after every boot) and checks the end state. It
// returns the number of crash points.
func crashWalk(t *testing.T, kind, scenario string) int {
	good := scenario == scenarioGood
	for n := 1; ; n++ {
		d, finished, where := crashOnce(t, kind, scenario, ours, n)
		d.check(t, good, where)
		recoverBoots(t, d, good, func(boot string) { d.check(t, good, where+", "+boot) })
		d.settled(t, good, where)
		if finished {
			return n - 1
		}
	}
}

// TestBootCrashWalk walks every crash point of install → try → commit
// and install → try → reset → rollback, for every kind.
func TestBootCrashWalk(t *testing.T) {
	for _, kind := range []string{KindGrub, KindUboot, kindUbootFAT, KindDirect} {
		for _, scenario := range []string{scenarioGood, scenarioBad} {
			t.Run(kind+"/"+scenario, func(t *testing.T) {
				points := crashWalk(t, kind, scenario)
				t.Logf("walked %d crash points", points)
				require.Greater(t, points, 10)
			})
		}
	}
}

// TestUpstreamChoicesBreakTheWalk replays the two upstream choices we
// changed and shows the walk catches each: a firmware latch cleared on
// rollback try-boots a failed revision twice after a cut before Fail;
// DONE written before the env commit leaves DONE on a revision the
// bootloader does not boot.
func TestUpstreamChoicesBreakTheWalk(t *testing.T) {
	for _, tc := range []struct {
		variant, scenario string
		broken            func(d device) bool
	}{
		{upstreamLatch, scenarioBad, func(d device) bool { return d.tries("1") > 1 }},
		{upstreamOrder, scenarioGood, func(d device) bool {
			b, err := d.open()
			return err == nil && d.status("1") == progress.Done && b.Committed() != "1"
		}},
	} {
		found := ""
		for n := 1; found == ""; n++ {
			d, finished, where := crashOnce(t, KindGrub, tc.scenario, tc.variant, n)
			if tc.broken(d) {
				found = where
			}
			recoverBoots(t, d, tc.scenario == scenarioGood, func(boot string) {
				if found == "" && tc.broken(d) {
					found = where + ", " + boot
				}
			})
			if finished {
				break
			}
		}
		require.NotEmpty(t, found, "%s: the walk found nothing", tc.variant)
		t.Logf("%s breaks at %s", tc.variant, found)
	}
}
