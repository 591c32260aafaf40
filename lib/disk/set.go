package disk

import (
	"errors"
	"slices"
	"sync"

	"pantavisor/lib/kmod"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
)

// ErrNoDisk: a volume names a disk the state does not define.
var ErrNoDisk error = &sentinel.Error{Text: "no such disk"}

// Set is the disks of a running state (device.json): SwapOn sets up every
// swap disk, Mount sets up the disk a volume names on its first use, and
// Close undoes all of them in reverse order. The zero value with Disks
// and Options set is ready; it is safe for concurrent use.
type Set struct {
	Disks   []state.Disk
	Options Options
	// Load loads a kernel module and its dependencies by name before a
	// disk needs it; nil: kmod.Loader{}.Probe (the running kernel's
	// /lib/modules). A failed load is only reported when the setup then
	// fails (the module may be built in).
	Load func(module string) error

	mu      sync.Mutex
	mounted map[string]string // disk name -> mount point
	undo    []func() error
}

// Modules are the kernel modules disk d needs (modules.dep names;
// built-in ones fail to load and are skipped): the versatile cipher
// aes-cbc-essiv:sha256 needs dm-crypt and essiv (aes, cbc and sha256 are
// built into most kernels, Debian's included); zram provisions need its
// driver. A switch, not a map: no work at package init.
func Modules(d state.Disk) []string {
	switch {
	case d.Type == TypeVersatile:
		return []string{"dm_mod", "dm_crypt", "essiv"}
	case d.Provision == ProvisionZram && (d.Type == TypeSwap || d.Type == TypeVolume):
		return []string{"zram"}
	}
	return nil
}

// Lookup finds the disk ref names, by name or alias; "" is the disk with
// default: yes, or nil when there is none. An unknown name is ErrNoDisk.
func (s *Set) Lookup(ref string) (*state.Disk, error) {
	for i := range s.Disks {
		d := &s.Disks[i]
		if ref == "" && d.Default || ref != "" && (d.Name == ref || slices.Contains(d.Aliases, ref)) {
			return d, nil
		}
	}
	if ref == "" {
		return nil, nil
	}
	return nil, printf.Errorf("disk %q: %w in device.json", ref, ErrNoDisk)
}

// Mount returns the mount point of the disk ref names (Lookup), setting
// it up on its first use, with the warnings of that setup; "" when ref is
// "" and no disk is the default. A swap disk holds no volumes: an error.
func (s *Set) Mount(ref string) (string, []string, error) {
	d, err := s.Lookup(ref)
	if err != nil || d == nil {
		return "", nil, err
	}
	if d.Type == TypeSwap {
		return "", nil, printf.Errorf("disk %q: %w: a swap-disk holds no volumes", d.Name, ErrBadDisk)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mnt, ok := s.mounted[d.Name]; ok {
		return mnt, nil, nil
	}
	r, err := s.setup(*d)
	if err != nil {
		return "", nil, err
	}
	if s.mounted == nil {
		s.mounted = map[string]string{}
	}
	s.mounted[d.Name] = r.Mountpoint
	return r.Mountpoint, prefix(d.Name, r.Warnings), nil
}

// SwapOn sets up every swap disk, in device.json order (upstream does so
// before any volume). It stops at the first failure, keeping the ones
// done for Close, and returns the warnings so far.
func (s *Set) SwapOn() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var warn []string
	for _, d := range s.Disks {
		if d.Type != TypeSwap {
			continue
		}
		r, err := s.setup(d)
		if err != nil {
			return warn, err
		}
		warn = append(warn, prefix(d.Name, r.Warnings)...)
	}
	return warn, nil
}

// setup sets d up (a dual disk through its sub-disks, setupDual) and
// keeps the undo for Close.
func (s *Set) setup(d state.Disk) (Result, error) {
	if d.Type == TypeDual {
		r, err := s.setupDual(d)
		if err != nil {
			return Result{}, printf.Errorf("disk %q: %w", d.Name, err)
		}
		s.undo = append(s.undo, r.Undo)
		return r, nil
	}
	r, err := s.attach(d, false)
	if err != nil {
		return Result{}, err
	}
	s.undo = append(s.undo, r.Undo)
	return r, nil
}

// attach loads d's modules and sets it up, a crypt disk that was never
// created failing when noCreate; the caller keeps or undoes the result.
func (s *Set) attach(d state.Disk, noCreate bool) (Result, error) {
	load := s.Load
	if load == nil {
		load = func(m string) error { return (&kmod.Loader{}).Probe(m, "") }
	}
	var loadErrs []error
	for _, m := range Modules(d) {
		if err := load(m); err != nil {
			loadErrs = append(loadErrs, err)
		}
	}
	opts := s.Options
	opts.NoCreate = opts.NoCreate || noCreate
	r, err := Setup(d, opts)
	if err != nil {
		if len(loadErrs) > 0 {
			err = printf.Errorf("%w (modules: %w)", err, errors.Join(loadErrs...))
		}
		return Result{}, err
	}
	return r, nil
}

// keep records r as the mount of the disk named name (what Mount returns
// for it from now on) and its undo for Close.
func (s *Set) keep(name string, r Result) {
	s.undo = append(s.undo, r.Undo)
	if s.mounted == nil {
		s.mounted = map[string]string{}
	}
	s.mounted[name] = r.Mountpoint
}

// Close undoes every disk set up, last first, and joins the errors; the
// Set can be used again afterwards.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := len(s.undo) - 1; i >= 0; i-- {
		errs = append(errs, s.undo[i]())
	}
	s.undo, s.mounted = nil, nil
	return errors.Join(errs...)
}

func prefix(name string, ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = printf.Sprintf("disk %q: %s", name, w)
	}
	return out
}
