package update

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/bootloader"
	"pantavisor/lib/engine"
	"pantavisor/lib/persist"
	"pantavisor/lib/progress"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Environment of the crash child: the storage, the scenario, the crash
// point (1-based; 0: none) and whether it is the restarted device.
const (
	envDir      = "PV_TEST_UPDATE_DIR"
	envScenario = "PV_TEST_UPDATE_SCENARIO"
	envAt       = "PV_TEST_UPDATE_CRASH_AT"
	envRecover  = "PV_TEST_UPDATE_RECOVER"
	crashExit   = 77
)

// Scenarios of the walk: the transition Start plans and whether the new
// revision fails its test.
var scenarios = map[string]struct{ reboot, fails bool }{
	"reboot-commit":   {true, false},
	"reboot-rollback": {true, true},
	"swap-commit":     {false, false}, // UPDATED, then the reboot tries and commits
	"swap-rollback":   {false, true},
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(envDir); dir != "" {
		at, _ := strconv.Atoi(os.Getenv(envAt))
		os.Exit(crashChild(dir, os.Getenv(envScenario), at, os.Getenv(envRecover) != ""))
	}
	os.Exit(m.Run())
}

// crashChild plays a device (appengine-like, a fake engine) on the storage
// in dir: boots until nothing is left to do, running the update of
// locals/x unless recovering. It dies at crash point at, as a power cut.
func crashChild(dir, scenario string, at int, recovering bool) int {
	count := 0
	w := &persist.Writer{Crash: func(point string) {
		if count++; count == at {
			fmt.Fprintf(os.Stderr, "crash at %d: %s\n", at, point)
			os.Exit(crashExit)
		}
	}}
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{Writer: w})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, err := bootloader.Options{Writer: w}.OpenBoot(bootloader.KindDirect, st.Root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	d := &crashDevice{st: st, boot: b, sc: scenario, clock: time.Now(), update: !recovering}
	ran, err := d.run()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ran %s\n", ran)
	return 0
}

// crashDevice is the device of the crash child.
type crashDevice struct {
	st     *storage.Storage
	boot   *bootloader.Boot
	sc     string
	clock  time.Time
	update bool // LOCAL_RUN locals/x once it runs a committed revision
}

// run boots until a boot has nothing left to do and returns the revision
// that runs then.
func (d *crashDevice) run() (string, error) {
	for boots := 0; boots < 8; boots++ {
		rev, again, err := d.bootOnce()
		if err != nil || !again {
			return rev, err
		}
	}
	return "", fmt.Errorf("still rebooting after 8 boots")
}

// bootOnce is one boot: choose, resume, verify, run; again reports a reboot.
func (d *crashDevice) bootOnce() (rev string, again bool, err error) {
	rev, trying, err := d.boot.Choose(nil)
	if err != nil {
		return "", false, err
	}
	u := &Updater{Storage: d.st, Boot: d.boot, Now: func() time.Time { return d.clock },
		Changes: func(cur, next *state.State) (bool, []string, string) {
			if scenarios[d.sc].reboot {
				return true, nil, "bsp changed"
			}
			return false, []string{"app"}, ""
		}}
	r := u.Resume(rev, trying)
	if r.Reboot {
		return rev, true, nil
	}
	if err := d.st.SetCurrent(rev); err != nil {
		return "", false, err
	}
	if _, err := d.st.Verify(rev); err != nil {
		if !r.Updating {
			return rev, false, fmt.Errorf("the committed revision %s is broken: %w", rev, err)
		}
		u.Decide(*engine.Failure(engine.BadObjects, "checksum"))
		return rev, true, nil
	}
	if r.Updating {
		return rev, d.test(u), nil
	}
	if !d.update || d.status(stepRev) != progress.New {
		return rev, false, nil
	}
	return d.localRun(u, rev)
}

// test runs the revision under test with the fake engine; true: reboot.
func (d *crashDevice) test(u *Updater) bool {
	u.Tick(View{Ready: true})
	if scenarios[d.sc].fails {
		u.Decide(*engine.Failure(engine.ContainerFailed, "app exited"))
		return true
	}
	d.clock = d.clock.Add(time.Minute)
	return u.Tick(View{Ready: true, Stable: true}) != nil
}

// localRun is LOCAL_RUN locals/x on the running revision rev.
func (d *crashDevice) localRun(u *Updater, rev string) (string, bool, error) {
	data, err := d.st.StateJSON(rev)
	if err != nil {
		return "", false, err
	}
	cur, err := state.Parse(data, state.Options{})
	if err != nil {
		return "", false, err
	}
	plan, err := u.Start(stepRev, cur)
	switch {
	case err != nil:
		return "", false, err
	case plan.Action == Reboot:
		return rev, true, nil
	case plan.Action == None:
		return rev, false, nil
	}
	u.Transitioned(nil)
	if d.test(u) {
		return stepRev, true, nil
	}
	return stepRev, true, nil // UPDATED: the next reboot tries and commits it
}

func (d *crashDevice) status(rev string) string {
	data, _ := d.st.Progress(rev)
	p, _ := progress.Parse(data)
	return p.Status
}

// TestCrashWalk stops the update of locals/x dead at every persistence
// point (storage and bootloader env writes) of install, transition, try,
// commit and rollback, in each scenario; restarts the device; and checks
// the invariants of a power cut: exactly one committed revision (pv_rev,
// DONE, and no try pending), env and progress agreeing, the device running
// the old or the new revision with a complete trail, no object under a
// wrong name, no progress left in an update status.
func TestCrashWalk(t *testing.T) {
	total := 0
	for _, sc := range []string{"reboot-commit", "reboot-rollback", "swap-commit", "swap-rollback"} {
		n := walkScenario(t, sc)
		t.Logf("%s: %d crash points", sc, n)
		total += n
	}
	t.Logf("crash walk: %d points walked", total)
	fmt.Printf("update crash walk: %d points walked\n", total)
}

// walkScenario walks every crash point of scenario sc; it returns their count.
func walkScenario(t *testing.T, sc string) int {
	for n := 1; ; n++ {
		dir := crashSetup(t)
		code, out := child(t, dir, sc, n, false)
		require.Contains(t, []int{0, crashExit}, code, "%s at %d:\n%s", sc, n, out)
		if code == 0 {
			checkFinal(t, dir, sc, out)
			return n - 1
		}
		code, out2 := child(t, dir, sc, 0, true)
		require.Equal(t, 0, code, "%s: recovery after crash %d:\n%s\n%s", sc, n, out, out2)
		checkInvariants(t, dir, out2, fmt.Sprintf("%s, crash %d (%s)", sc, n, strings.TrimSpace(out)))
	}
}

// crashSetup is a storage with revision 0 committed (env and DONE) and
// the step locals/x uploaded with its objects.
func crashSetup(t *testing.T) string {
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	f := &fixture{t: t, st: st}
	j0, objs0 := revState("old", "container")
	f.storeObjects(objs0)
	_, err = st.Install("0", j0, nil)
	require.NoError(t, err)
	require.NoError(t, st.SetProgress("0", progress.Make(progress.Done, progress.MsgFactory).Bytes()))
	require.NoError(t, st.MarkDone("0"))
	b, err := bootloader.Options{}.OpenBoot(bootloader.KindDirect, st.Root)
	require.NoError(t, err)
	require.NoError(t, b.Commit("0"))
	f.upload(stepRev, "new")
	return dir
}

func child(t *testing.T, dir, sc string, at int, recovering bool) (int, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envDir+"="+dir, envScenario+"="+sc, envAt+"="+strconv.Itoa(at))
	if recovering {
		cmd.Env = append(cmd.Env, envRecover+"=1")
	}
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil {
		require.NoError(t, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// checkFinal checks the scenario without a crash ended as it should.
func checkFinal(t *testing.T, dir, sc, out string) {
	checkInvariants(t, dir, out, sc+" without a crash")
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	data, _ := st.Progress(stepRev)
	p, _ := progress.Parse(data)
	want := progress.Done
	if scenarios[sc].fails {
		want = progress.Error
	}
	require.Equal(t, want, p.Status, "%s: %s", sc, data)
}

// checkInvariants checks the storage and env after a recovery whose
// output out names the revision that ran.
func checkInvariants(t *testing.T, dir, out, what string) {
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	b, err := bootloader.Options{}.OpenBoot(bootloader.KindDirect, st.Root)
	require.NoError(t, err, what)
	committed := b.Committed()
	require.Empty(t, b.Pending(), "%s: no try pending once recovered", what)
	require.Contains(t, []string{"0", stepRev}, committed, what)
	f := &fixture{t: t, st: st}
	require.Equal(t, progress.Done, f.progress(committed).Status, "%s: pv_rev %s is DONE", what, committed)
	require.True(t, st.IsDone(committed), "%s: pv_rev %s is marked done", what, committed)
	if st.HasRevision(stepRev) && f.statusOf(stepRev) == progress.Done {
		require.Equal(t, stepRev, committed, "%s: DONE only on the committed revision", what)
	}
	ran := strings.TrimSpace(strings.TrimPrefix(out[strings.LastIndex(out, "ran "):], "ran "))
	require.Equal(t, committed, ran, "%s: the device runs the committed revision", what)
	_, err = st.Verify(ran)
	require.NoError(t, err, "%s: the running revision is complete", what)
	revs, err := st.Revisions()
	require.NoError(t, err)
	for _, rev := range revs {
		s := f.statusOf(rev)
		require.True(t, s == "" || s == progress.New || progress.Final(s), "%s: %s left %s", what, rev, s)
	}
	objectsIntact(t, st, what)
}

func (f *fixture) statusOf(rev string) string {
	data, _ := f.st.Progress(rev)
	p, _ := progress.Parse(data)
	return p.Status
}

// objectsIntact checks every object file hashes to its name.
func objectsIntact(t *testing.T, st *storage.Storage, what string) {
	entries, err := os.ReadDir(filepath.Join(st.Root, "objects"))
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "%s: leftover %s", what, e.Name())
		got, err := storage.HashFile(st.ObjectPath(e.Name()))
		require.NoError(t, err)
		require.Equal(t, e.Name(), got, "%s: object under a wrong name", what)
	}
}
