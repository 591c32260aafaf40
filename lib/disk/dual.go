package disk

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// A dual disk (device.json disks_v3, type "dual") is one logical disk
// over two sub-disks, "disks": [primary, secondary], usually two crypt
// disks of different key schemes during a key migration. Its init_order
// lists steps tried in turn; the first that works mounts a sub-disk
// under its own name and binds it at the dual disk's CryptDir, where the
// dual disk's volumes live.
const (
	StepPrimary         = "primary"              // mount the primary if it was ever created
	StepSecondary       = "secondary"            // mount the secondary if it was ever created
	StepCreatePrimary   = "create-primary"       // mount the primary, creating it if needed
	StepCreateSecondary = "create-secondary"     // mount the secondary, creating it if needed
	StepCopyOnce        = "copy-once-to-primary" // copy the secondary into a new primary, once
)

// errStepDone: copy-once-to-primary was done before; the next step runs
// (upstream's "already done, continue").
var errStepDone error = &sentinel.Error{Text: "already done"}

// checkDual checks a dual disk's definition against the state's disks:
// one or two sub-disks, each defined and neither dual nor swap; a known
// init_order step each, whose sub-disks exist. It returns the sub-disks.
func checkDual(d state.Disk, all []state.Disk) ([]state.Disk, error) {
	if len(d.Disks) == 0 || len(d.Disks) > 2 {
		return nil, printf.Errorf("%w: a dual disk needs \"disks\": [primary] or [primary, secondary], got %q", ErrBadDisk, d.Disks)
	}
	subs := make([]state.Disk, len(d.Disks))
	for i, name := range d.Disks {
		j := slices.IndexFunc(all, func(x state.Disk) bool { return x.Name == name })
		switch {
		case j < 0:
			return nil, printf.Errorf("%w: sub-disk %q is not defined", ErrBadDisk, name)
		case all[j].Type == TypeDual || all[j].Type == TypeSwap:
			return nil, printf.Errorf("%w: sub-disk %q is a %s", ErrBadDisk, name, all[j].Type)
		}
		subs[i] = all[j]
	}
	if len(d.InitOrder) == 0 {
		return nil, printf.Errorf("%w: a dual disk needs an init_order", ErrBadDisk)
	}
	for _, step := range d.InitOrder {
		uses, ok := stepDisks(step)
		if !ok {
			return nil, printf.Errorf("%w: init_order step %q: want primary, secondary, create-primary, create-secondary or copy-once-to-primary", ErrBadDisk, step)
		}
		if slices.Max(uses) >= len(subs) {
			return nil, printf.Errorf("%w: init_order step %q needs a secondary disk", ErrBadDisk, step)
		}
	}
	return subs, nil
}

// stepDisks are the sub-disks (by index) a step uses; ok is false for a
// step that is none of the Step names.
func stepDisks(step string) (uses []int, ok bool) {
	switch step {
	case StepPrimary, StepCreatePrimary:
		return []int{0}, true
	case StepSecondary, StepCreateSecondary:
		return []int{1}, true
	case StepCopyOnce:
		return []int{1, 0}, true // the secondary into the primary
	}
	return nil, false
}

// checkDualSubs is Check of a dual disk: its definition, then each
// sub-disk's own check; a step whose sub-disks are refused cannot work,
// and the disk is refused only when no step can (a warning names each
// step that cannot).
func checkDualSubs(d state.Disk, all []state.Disk, opts Options) ([]string, error) {
	subs, err := checkDual(d, all)
	if err != nil {
		return nil, err
	}
	subErr := make([]error, len(subs))
	var warn []string
	for i, s := range subs {
		var w []string
		w, subErr[i] = Check(s, opts)
		warn = append(warn, w...)
	}
	var first error
	ok := false
	for _, step := range d.InitOrder {
		var stepErr error
		uses, _ := stepDisks(step) // checkDual knows every step
		for _, i := range uses {
			if subErr[i] != nil {
				stepErr = subErr[i]
			}
		}
		if stepErr == nil {
			ok = true
			continue
		}
		warn = append(warn, printf.Sprintf("init_order step %q cannot work: %v", step, stepErr))
		if first == nil {
			first = stepErr
		}
	}
	if !ok {
		return warn, printf.Errorf("dual disk: no init_order step can work: %w", first)
	}
	return warn, nil
}

// dualMarker is the file that says copy-once-to-primary, or any step,
// succeeded: <storage>/disks/dual_<primary>_<secondary>.init_done. On
// purpose not upstream's place (PV_SYSTEM_DISKSDIR, /run by default, a
// tmpfs): there it is gone at the next boot, and copy-once-to-primary
// copies the old secondary over the primary's newer files again at
// every boot, which upstream's own documentation says it does not
// ("first boot: copy; subsequent boots: mount mainline directly").
func (o *Options) dualMarker(d state.Disk) string {
	return filepath.Join(o.storageDir(), "disks", "dual_"+strings.Join(d.Disks, "_")+".init_done")
}

// setupDual sets up dual disk d: its init_order steps in turn, the first
// that works wins; its sub-disk stays mounted under its own name (and
// is what a volume naming the sub-disk gets) and is bound at
// CryptDir(d.Name); the marker is written. Every step failing is an
// error naming each step's reason. Called with s.mu held.
func (s *Set) setupDual(d state.Disk) (Result, error) {
	subs, err := checkDual(d, s.Disks)
	if err != nil {
		return Result{}, err
	}
	var failed stepErrors
	for _, step := range d.InitOrder {
		mnt, err := s.dualStep(d, subs, step)
		if errors.Is(err, errStepDone) {
			continue
		}
		if err != nil {
			failed = append(failed, printf.Errorf("%s: %w", step, err))
			continue
		}
		r, err := s.bindDual(d, mnt)
		if err != nil {
			return Result{}, printf.Errorf("dual disk: step %s: %w", step, err)
		}
		r.Warnings = []string{printf.Sprintf("dual: step %s mounted %s", step, mnt)}
		return r, nil
	}
	if len(failed) == 0 {
		return Result{}, printf.Errorf("%w: dual disk: copy-once-to-primary was done before and no other init_order step follows it", ErrBadDisk)
	}
	return Result{}, printf.Errorf("dual disk: every init_order step failed: %w", failed)
}

// stepErrors are the failed steps of a dual disk, on one line; errors.Is
// sees each (ErrNotInitialized, ErrNoKeyHardware).
type stepErrors []error

func (e stepErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e stepErrors) Unwrap() []error { return e }

// bindDual binds the sub-disk mounted at mnt at dual disk d's CryptDir
// and writes d's marker.
func (s *Set) bindDual(d state.Disk, mnt string) (Result, error) {
	target := s.Options.CryptDir(d.Name)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return Result{}, err
	}
	if err := mount.Mount(mnt, target, "", unix.MS_BIND, ""); err != nil {
		return Result{}, err
	}
	undo := func() error {
		if err := mount.Unmount(target, 0); err != nil {
			return err
		}
		return os.Remove(target)
	}
	marker := s.Options.dualMarker(d)
	err := os.MkdirAll(filepath.Dir(marker), 0o755)
	if err == nil {
		err = writeFileSync(marker, nil, 0o600)
	}
	if err != nil {
		return Result{}, errors.Join(err, undo())
	}
	return Result{Mountpoint: target, Device: mnt, Undo: undo}, nil
}

// dualStep runs one init_order step and returns the mount point of the
// sub-disk it leaves mounted (kept in s for volumes and Close).
func (s *Set) dualStep(d state.Disk, subs []state.Disk, step string) (string, error) {
	switch step {
	case StepPrimary:
		return s.mountSub(subs[0], true)
	case StepSecondary:
		return s.mountSub(subs[1], true)
	case StepCreatePrimary:
		return s.mountSub(subs[0], false)
	case StepCreateSecondary:
		return s.mountSub(subs[1], false)
	}
	// copy-once-to-primary
	if exists(s.Options.dualMarker(d)) {
		return "", errStepDone
	}
	if _, ok := s.mounted[subs[0].Name]; ok {
		return "", printf.Errorf("primary %q is in use already: not copying into it", subs[0].Name)
	}
	sec, err := s.attach(subs[1], true)
	if err != nil {
		return "", printf.Errorf("secondary: %w", err)
	}
	pri, err := s.attach(subs[0], false)
	if err != nil {
		return "", errors.Join(printf.Errorf("primary: %w", err), sec.Undo())
	}
	err = copyTree(sec.Mountpoint, pri.Mountpoint)
	if uerr := sec.Undo(); err == nil && uerr != nil {
		err = printf.Errorf("unmounting the secondary: %w", uerr)
	}
	if err != nil {
		return "", errors.Join(printf.Errorf("copying %q into %q: %w", subs[1].Name, subs[0].Name, err), pri.Undo())
	}
	s.keep(subs[0].Name, pri)
	return pri.Mountpoint, nil
}

// mountSub mounts sub-disk sub (reusing its mount when a volume or an
// earlier step has it) and keeps it; noCreate: a crypt disk that was never
// created fails instead of being created.
func (s *Set) mountSub(sub state.Disk, noCreate bool) (string, error) {
	if mnt, ok := s.mounted[sub.Name]; ok {
		return mnt, nil
	}
	r, err := s.attach(sub, noCreate)
	if err != nil {
		return "", err
	}
	s.keep(sub.Name, r)
	return r.Mountpoint, nil
}

// copyTree copies src's tree into dst (lost+found left out): directories,
// regular files (each written, fsynced and read back to compare) and
// symlinks, with their modes and owners; anything else is an error, as
// is a file that reads back different.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel == "lost+found" {
			return filepath.SkipDir
		}
		to := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.IsDir():
			if rel != "." {
				if err := os.Mkdir(to, fi.Mode().Perm()); err != nil && !os.IsExist(err) {
					return err
				}
			}
		case fi.Mode().IsRegular():
			if err := copyVerify(p, to, fi.Mode().Perm()); err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.Remove(to)
			if err := os.Symlink(link, to); err != nil {
				return err
			}
		default:
			return printf.Errorf("%s: not a file, directory or symlink (%s)", p, fi.Mode().Type())
		}
		if st != nil {
			if err := os.Lchown(to, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return os.Chmod(to, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		}
		return nil
	})
}

// copyVerify copies the file src to dst (replaced), fsyncs it and reads
// both back to compare.
func copyVerify(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return printf.Errorf("copying %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		return printf.Errorf("syncing %s: %w", dst, err)
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return err
	}
	same, err := sameContent(in, out)
	if err != nil {
		return printf.Errorf("verifying %s: %w", dst, err)
	}
	if !same {
		return printf.Errorf("verifying %s: it reads back different from %s", dst, src)
	}
	return nil
}

// sameContent compares two readers to their ends.
func sameContent(a, b io.Reader) (bool, error) {
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(a, ba)
		nb, eb := io.ReadFull(b, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		aEnd := ea == io.EOF || ea == io.ErrUnexpectedEOF
		bEnd := eb == io.EOF || eb == io.ErrUnexpectedEOF
		switch {
		case ea != nil && !aEnd:
			return false, ea
		case eb != nil && !bEnd:
			return false, eb
		case aEnd || bEnd:
			return aEnd == bEnd, nil
		}
	}
}
