package bootloader

import (
	"pantavisor/lib/cmdline"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Env keys, as upstream and its bootloader scripts name them.
const (
	KeyRev    = "pv_rev"    // the committed revision (the rollback point)
	KeyTry    = "pv_try"    // the revision to try-boot once
	KeyTrying = "pv_trying" // the latch: the try that has been booted
)

// FactoryRev is the revision booted when pv_rev is unset.
const FactoryRev = "0"

// ErrRev: an empty revision name.
var ErrRev error = &sentinel.Error{Text: "empty revision"}

// Boot is the try-boot logic over a bootloader env.
//
// Env holds pv_rev and pv_try. Latch holds pv_trying: GRUB's own env for
// grub, U-Boot's pv.env for uboot with Options.UbootLatch, nil (meaning
// Env) otherwise. Direct means there is no bootloader:
// Choose runs the latch itself.
//
// Unlike the U-Boot script and grub.cfg of upstream, the latch is never
// cleared on the boot that detects a failed try: it stays armed
// (pv_trying == pv_try) until Fail, Commit or Install clears it, so a
// reset before Fail still boots pv_rev instead of trying the failed
// revision a second time.
type Boot struct {
	Env    Env
	Latch  Env
	Direct bool
}

// latch returns the env holding pv_trying.
func (b *Boot) latch() Env {
	if b.Latch == nil {
		return b.Env
	}
	return b.Latch
}

// shared reports whether pv_trying lives in Env.
func (b *Boot) shared() bool { return b.Latch == nil }

// Committed returns pv_rev, FactoryRev when unset.
func (b *Boot) Committed() string {
	if v, _ := b.Env.Get(KeyRev); v != "" {
		return v
	}
	return FactoryRev
}

// Pending returns pv_try ("" when no update is in progress).
func (b *Boot) Pending() string {
	v, _ := b.Env.Get(KeyTry)
	return v
}

// Install makes the next boot try rev once. Steps: clear a stale latch
// in a separate latch env (commit), then set pv_try=rev (and clear
// pv_trying when it shares the file) and commit. The pv_try commit is the
// point after which a reboot try-boots rev.
func (b *Boot) Install(rev string) error {
	if rev == "" {
		return printf.Errorf("installing revision: %w", ErrRev)
	}
	if !b.shared() {
		if err := clearLatch(b.Latch); err != nil {
			return err
		}
	}
	return b.commitEnv("installing revision "+rev, func() error {
		return b.Env.Set(KeyTry, rev)
	})
}

// Commit makes rev the revision every boot runs: set pv_rev=rev, unset
// pv_try (and pv_trying when it shares the file), commit; then clear
// pv_trying in a separate latch env. The first commit is the commit
// point; a cut before the latch is cleared leaves a stale pv_trying that
// no boot looks at (pv_try is unset) and that Install clears.
//
// Order with progress: upstream writes progress DONE before this env
// commit, so a power cut between the two leaves DONE on a revision the
// bootloader will not boot. Callers here must call Commit first and
// write DONE only after it returned nil: a cut between the two leaves a
// committed revision whose progress is not final yet, which Resume
// detects at the next boot (ResumeRepairDone) and finishes.
func (b *Boot) Commit(rev string) error {
	if rev == "" {
		return printf.Errorf("committing revision: %w", ErrRev)
	}
	err := b.commitEnv("committing revision "+rev, func() error {
		if err := b.Env.Set(KeyRev, rev); err != nil {
			return err
		}
		return b.Env.Unset(KeyTry)
	})
	if err != nil || b.shared() {
		return err
	}
	return clearLatch(b.Latch)
}

// Fail abandons the pending try: unset pv_try (and pv_trying when it
// shares the file), commit; then clear pv_trying in a separate latch env.
// The next boot runs pv_rev.
func (b *Boot) Fail() error {
	err := b.commitEnv("abandoning the try of revision "+b.Pending(), func() error {
		return b.Env.Unset(KeyTry)
	})
	if err != nil || b.shared() {
		return err
	}
	return clearLatch(b.Latch)
}

// commitEnv stages change, plus the removal of a shared pv_trying, and
// commits Env.
func (b *Boot) commitEnv(what string, change func() error) error {
	err := change()
	if err == nil && b.shared() {
		err = b.Env.Unset(KeyTrying)
	}
	if err == nil {
		err = b.Env.Commit()
	}
	if err != nil {
		return printf.Errorf("%s: %w", what, err)
	}
	return nil
}

// clearLatch unsets pv_trying in latch and commits, if it is set.
func clearLatch(latch Env) error {
	if _, ok := latch.Get(KeyTrying); !ok {
		return nil
	}
	if err := latch.Unset(KeyTrying); err != nil {
		return printf.Errorf("clearing the try-boot latch: %w", err)
	}
	if err := latch.Commit(); err != nil {
		return printf.Errorf("clearing the try-boot latch: %w", err)
	}
	return nil
}

// Choose returns the revision the init runs and whether it is a try.
//
// With a bootloader, the bootloader already ran the latch and put
// pv_rev=<booted rev> (default FactoryRev) and, when trying, pv_try=<rev>
// on the command line: trying ⇔ pv_try is non-empty and equals the booted
// rev. The env is not read (it says what is committed; see Resume).
//
// Direct (no bootloader), the command line is not read and the init runs
// the latch like grub.cfg:
//   - pv_try set and pv_trying == pv_try: that try was booted once and
//     never committed or failed: run pv_rev, leave the latch armed;
//   - pv_try set otherwise: set pv_trying=pv_try and commit it BEFORE
//     running pv_try (trying);
//   - no pv_try: run pv_rev.
//
// On error the returned revision is still the one to run: pv_rev, never a
// try whose latch could not be written.
func (b *Boot) Choose(cl cmdline.Cmdline) (rev string, trying bool, err error) {
	if b.Direct {
		return b.directLatch()
	}
	rev, _ = cl.Get(KeyRev)
	if rev == "" {
		rev = FactoryRev
	}
	try, _ := cl.Get(KeyTry)
	return rev, try != "" && try == rev, nil
}

// directLatch is Choose without a bootloader.
func (b *Boot) directLatch() (string, bool, error) {
	committed, try := b.Committed(), b.Pending()
	latched, _ := b.latch().Get(KeyTrying)
	if try == "" || try == latched {
		return committed, false, nil
	}
	if err := b.latch().Set(KeyTrying, try); err != nil {
		return committed, false, printf.Errorf("latching the try of revision %s: %w", try, err)
	}
	if err := b.latch().Commit(); err != nil {
		return committed, false, printf.Errorf("latching the try of revision %s: %w", try, err)
	}
	return try, true, nil
}
