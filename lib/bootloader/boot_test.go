package bootloader

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/cmdline"
	"pantavisor/lib/progress"
)

// kindUbootFAT is a test kind: uboot with U-Boot's latch env pv.env on
// a boot partition (storage/bootfs stands for its mount point).
const kindUbootFAT = "uboot+fat"

// openBoot opens a Boot of kind (or kindUbootFAT) below storage.
func openBoot(o Options, kind, storage string) (*Boot, error) {
	if kind == kindUbootFAT {
		kind, o.UbootLatch = KindUboot, filepath.Join(storage, "bootfs", UbootLatchFile)
	}
	return o.OpenBoot(kind, storage)
}

// newBoot opens a Boot of kind on a fresh storage.
func newBoot(t *testing.T, kind, storage string) *Boot {
	t.Helper()
	b, err := openBoot(Options{}, kind, storage)
	require.NoError(t, err)
	return b
}

// setEnv commits kv into env.
func setEnv(t *testing.T, env Env, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			require.NoError(t, env.Unset(kv[i]))
		} else {
			require.NoError(t, env.Set(kv[i], kv[i+1]))
		}
	}
	require.NoError(t, env.Commit())
}

func get(env Env, key string) string { v, _ := env.Get(key); return v }

func TestChooseCmdlineTable(t *testing.T) {
	b := &Boot{Env: &fileEnv{codec: grubCodec}}
	for _, tc := range []struct {
		cmdline, rev string
		trying       bool
	}{
		{"", "0", false},
		{"console=ttyS0", "0", false},
		{"pv_rev=5", "5", false},
		{"pv_rev=5 pv_try=", "5", false},
		{"pv_rev=5 pv_try=5", "5", true},
		{"pv_try=5 pv_rev=5 panic=2", "5", true},
		{"pv_rev=4 pv_try=5", "4", false},
		{"pv_try=0", "0", true},
		{"pv_rev=locals/a pv_try=locals/a", "locals/a", true},
		{"pv_rev=1 pv_rev=2", "2", false},
	} {
		rev, trying, err := b.Choose(cmdline.Parse(tc.cmdline))
		require.NoError(t, err)
		require.Equal(t, tc.rev, rev, tc.cmdline)
		require.Equal(t, tc.trying, trying, tc.cmdline)
	}
}

// TestDirectLatchTable: the init's latch for the direct kind.
func TestDirectLatchTable(t *testing.T) {
	for _, tc := range []struct {
		name              string
		rev, try, latched string
		wantRev           string
		wantTrying        bool
		wantLatch         string
	}{
		{"factory", "", "", "", "0", false, ""},
		{"committed", "3", "", "", "3", false, ""},
		{"stale latch, no try", "3", "", "2", "3", false, "2"},
		{"first boot of a try", "3", "4", "", "4", true, "4"},
		{"try over a stale latch", "3", "4", "2", "4", true, "4"},
		{"try booted once: roll back, latch stays armed", "3", "4", "4", "3", false, "4"},
		{"factory try", "", "1", "", "1", true, "1"},
		{"factory try failed", "", "1", "1", "0", false, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := newBoot(t, KindDirect, dir)
			setEnv(t, b.Env, KeyRev, tc.rev, KeyTry, tc.try, KeyTrying, tc.latched)
			rev, trying, err := b.Choose(nil)
			require.NoError(t, err)
			require.Equal(t, tc.wantRev, rev)
			require.Equal(t, tc.wantTrying, trying)
			again := newBoot(t, KindDirect, dir)
			require.Equal(t, tc.wantLatch, get(again.Env, KeyTrying), "latch on disk")
		})
	}
}

// TestInstallCommitFail walks the three updates over every kind and
// checks what each leaves on disk.
func TestInstallCommitFail(t *testing.T) {
	for _, kind := range []string{KindGrub, KindUboot, kindUbootFAT, KindDirect} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			b := newBoot(t, kind, dir)
			require.Equal(t, "0", b.Committed())
			require.ErrorIs(t, b.Install(""), ErrRev)
			require.ErrorIs(t, b.Commit(""), ErrRev)
			setEnv(t, b.latch(), KeyTrying, "1") // stale
			require.NoError(t, b.Install("1"))
			b = newBoot(t, kind, dir)
			require.Equal(t, "1", b.Pending())
			require.Equal(t, "", get(b.latch(), KeyTrying), "install clears a stale latch")
			setEnv(t, b.latch(), KeyTrying, "1") // the bootloader latched it
			require.NoError(t, b.Commit("1"))
			b = newBoot(t, kind, dir)
			require.Equal(t, "1", b.Committed())
			require.Equal(t, "", b.Pending())
			require.Equal(t, "", get(b.latch(), KeyTrying))
			require.NoError(t, b.Install("2"))
			setEnv(t, b.latch(), KeyTrying, "2")
			require.NoError(t, b.Fail())
			b = newBoot(t, kind, dir)
			require.Equal(t, "1", b.Committed())
			require.Equal(t, "", b.Pending())
			require.Equal(t, "", get(b.latch(), KeyTrying))
		})
	}
}

func TestOpenBootCorrupt(t *testing.T) {
	dir := t.TempDir()
	b := newBoot(t, KindGrub, dir)
	require.NoError(t, b.Install("1"))
	setEnv(t, b.Latch, "x", "1")
	require.NoError(t, writeRaw(filepath.Join(dir, "boot/grub/grubenv"), "junk"))
	b, err := Options{}.OpenBoot(KindGrub, dir)
	require.ErrorIs(t, err, ErrCorrupt)
	require.NotNil(t, b)
	require.Equal(t, "1", b.Pending())
	_, err = Options{}.OpenBoot("nope", dir)
	require.ErrorIs(t, err, ErrKind)
}

func TestDecideResumeTable(t *testing.T) {
	const (
		inprog = progress.InProgress
		testng = progress.Testing
		done   = progress.Done
		errS   = progress.Error
		wontgo = progress.WontGo
		upd    = progress.Updated
	)
	for _, tc := range []struct {
		name string
		in   ResumeState
		want Resume
	}{
		{"trying, fresh", ResumeState{Booted: "2", Trying: true, EnvRev: "1", EnvTry: "2", BootedStatus: inprog},
			Resume{Kind: ResumeTry, Rev: "2", Status: inprog, Msg: progress.MsgTrying}},
		{"trying after a non-reboot transition", ResumeState{Booted: "2", Trying: true, EnvRev: "1", EnvTry: "2", BootedStatus: upd},
			Resume{Kind: ResumeTry, Rev: "2", Status: inprog, Msg: progress.MsgTrying}},
		{"trying over a DONE the env never got", ResumeState{Booted: "2", Trying: true, EnvRev: "1", EnvTry: "2", BootedStatus: done},
			Resume{Kind: ResumeTry, Rev: "2", Status: inprog, Msg: progress.MsgTrying}},
		{"trying, already failed", ResumeState{Booted: "2", Trying: true, EnvRev: "1", EnvTry: "2", BootedStatus: errS},
			Resume{Kind: ResumeRollback, Rev: "2", Fail: true, Reboot: true}},
		{"trying, wontgo", ResumeState{Booted: "2", Trying: true, EnvRev: "1", EnvTry: "2", BootedStatus: wontgo},
			Resume{Kind: ResumeRollback, Rev: "2", Fail: true, Reboot: true}},
		{"rolled back after a reset during TESTING", ResumeState{Booted: "1", EnvRev: "1", EnvTry: "2", BootedStatus: done, TryStatus: testng},
			Resume{Kind: ResumeRolledBack, Rev: "2", Status: errS, Msg: MsgUnexpectedRollback, Fail: true}},
		{"rolled back, try had no progress", ResumeState{Booted: "1", EnvRev: "1", EnvTry: "2", BootedStatus: done},
			Resume{Kind: ResumeRolledBack, Rev: "2", Status: errS, Msg: MsgUnexpectedRollback, Fail: true}},
		{"rolled back over upstream's DONE-before-commit", ResumeState{Booted: "1", EnvRev: "1", EnvTry: "2", BootedStatus: done, TryStatus: done},
			Resume{Kind: ResumeRolledBack, Rev: "2", Status: errS, Msg: MsgUnexpectedRollback, Fail: true}},
		{"rolled back, failure recorded", ResumeState{Booted: "1", EnvRev: "1", EnvTry: "2", BootedStatus: done, TryStatus: errS},
			Resume{Kind: ResumeRolledBack, Rev: "2", Fail: true}},
		{"rolled back to factory", ResumeState{Booted: "0", EnvTry: "1", BootedStatus: done, TryStatus: inprog},
			Resume{Kind: ResumeRolledBack, Rev: "1", Status: errS, Msg: MsgUnexpectedRollback, Fail: true}},
		{"cut between env commit and DONE", ResumeState{Booted: "2", EnvRev: "2", BootedStatus: testng},
			Resume{Kind: ResumeRepairDone, Rev: "2", Status: done, Msg: progress.MsgDone, Commit: true}},
		{"committed, progress INPROGRESS", ResumeState{Booted: "2", EnvRev: "2", BootedStatus: inprog},
			Resume{Kind: ResumeRepairDone, Rev: "2", Status: done, Msg: progress.MsgDone, Commit: true}},
		{"committed and done", ResumeState{Booted: "2", EnvRev: "2", BootedStatus: done},
			Resume{Kind: ResumeNothing, Rev: "2"}},
		{"committed, stale pv_try on itself", ResumeState{Booted: "2", EnvRev: "2", EnvTry: "2", BootedStatus: done},
			Resume{Kind: ResumeNothing, Rev: "2", Fail: true}},
		{"factory, first boot", ResumeState{Booted: "0"},
			Resume{Kind: ResumeFactory, Rev: "0", Status: done, Msg: progress.MsgFactory}},
		{"factory, progress NEW", ResumeState{Booted: "0", EnvRev: "0", BootedStatus: progress.New},
			Resume{Kind: ResumeFactory, Rev: "0", Status: done, Msg: progress.MsgFactory}},
		{"factory, done", ResumeState{Booted: "0", BootedStatus: done},
			Resume{Kind: ResumeNothing, Rev: "0"}},
		{"booted is not pv_rev", ResumeState{Booted: "3", EnvRev: "2", BootedStatus: testng},
			Resume{Kind: ResumeNothing, Rev: "3"}},
		{"committed with progress NEW", ResumeState{Booted: "3", EnvRev: "3", BootedStatus: progress.New},
			Resume{Kind: ResumeNothing, Rev: "3"}},
	} {
		require.Equal(t, tc.want, DecideResume(tc.in), tc.name)
	}
}

func TestResumeKindString(t *testing.T) {
	for k, s := range []string{"nothing", "try", "rollback", "rolled back", "repair done", "factory", "unknown"} {
		require.Equal(t, s, ResumeKind(k).String())
	}
}
