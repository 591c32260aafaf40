package disk

import (
	"io"
	"path/filepath"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/zram"
)

// Disk types of device.json (state.Disk.Type).
const (
	TypeVersatile = "dm-crypt-versatile"
	TypeCAAM      = "dm-crypt-caam"
	TypeDCP       = "dm-crypt-dcp"
	TypeSwap      = "swap-disk"
	TypeVolume    = "volume-disk"
	TypeDual      = "dual"
)

// Provisions of swap and volume disks (state.Disk.Provision).
const (
	ProvisionZram = "zram"
	ProvisionFile = "file"
)

// Errors a caller can branch on.
var (
	// ErrNoKeyHardware: a caam/dcp disk on a board without that hardware.
	ErrNoKeyHardware error = &sentinel.Error{Text: "needs NXP key hardware"}
	// ErrUnsupported: a disk this implementation cannot set up yet.
	ErrUnsupported error = &sentinel.Error{Text: "not supported by this pantavisor"}
	// ErrNotInitialized: NoCreate and the disk was never created.
	ErrNotInitialized error = &sentinel.Error{Text: "disk not initialised"}
	// ErrBadDisk: the disk definition is incomplete or malformed.
	ErrBadDisk error = &sentinel.Error{Text: "bad disk definition"}
)

// Options are the host paths, board capabilities and seams of Setup. The
// zero value uses the real system and a board without NXP key hardware.
type Options struct {
	MediaDir   string // PV_SYSTEM_MEDIADIR; "/media" by default
	StorageDir string // PV_STORAGE_MNTPOINT; "/storage" by default
	Dev        string // "/dev" by default
	Sys        string // "/sys" by default

	// HasCAAM and HasDCP are the board's NXP key hardware (the board
	// definition sets them); without it caam/dcp disks are refused.
	HasCAAM, HasDCP bool

	// NoCreate fails a crypt disk that was never initialised instead of
	// creating its key and image (upstream's --no-create, for dual), and
	// a bind volume disk whose storage directory does not exist.
	NoCreate bool

	// Random is the source of new crypt keys; nil: /dev/hwrng when the
	// board has one, else the kernel's random source (/dev/urandom), as
	// upstream's script.
	Random io.Reader

	// NoZramReuse always hot-adds a zram device (tests); by default the
	// first uninitialised one is taken, as upstream.
	NoZramReuse bool

	PageSize int // swap page size; 0: the system's
}

func (o *Options) mediaDir() string   { return def(o.MediaDir, "/media") }
func (o *Options) storageDir() string { return def(o.StorageDir, "/storage") }
func (o *Options) dev() string        { return def(o.Dev, "/dev") }

func def(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (o *Options) zram() zram.Control {
	return zram.Control{Sys: o.Sys, Dev: o.Dev, NoReuse: o.NoZramReuse}
}

// CryptDir is where a disk named name is mounted and where volumes with
// "disk": name live: $MEDIADIR/pv/dmcrypt/<name> (upstream uses the
// dmcrypt namespace for every disk-backed volume, bind volume disks
// included).
func (o *Options) CryptDir(name string) string {
	return filepath.Join(o.mediaDir(), "pv", "dmcrypt", name)
}

// Result is a set-up disk.
type Result struct {
	Mountpoint string   // where the volumes go; "" for swap
	Device     string   // what was mounted or swapped on: the dm or zram node, the file, the bind source
	Warnings   []string // options asked for but not honoured, each naming its key
	// Undo unmounts (or swaps off) and releases what Setup made, in
	// reverse order. It is never nil after a successful Setup.
	Undo func() error
}

// Setup sets up one disk of device.json and returns its mount point and
// undo. Swap disks go first at boot (upstream); the others when a volume
// first needs them. The disk type picks the steps:
//
//   - dm-crypt-versatile: setupVersatile;
//   - dm-crypt-caam, dm-crypt-dcp: ErrNoKeyHardware without the board
//     capability, else ErrUnsupported;
//   - swap-disk: provision "zram", "file", or any other value for the
//     block device at path (no provision: an error, as upstream);
//   - volume-disk: no provision binds a storage directory; "zram" or a
//     block device gets ext4 at mount_target;
//   - dual: set up by Set (setupDual), which has the sub-disks; here
//     ErrBadDisk.
func Setup(d state.Disk, opts Options) (Result, error) {
	if d.Name == "" {
		return Result{}, printf.Errorf("disk: %w: no name", ErrBadDisk)
	}
	r, err := setup(d, opts)
	if err != nil {
		return Result{}, printf.Errorf("disk %q: %w", d.Name, err)
	}
	return r, nil
}

func setup(d state.Disk, opts Options) (Result, error) {
	switch d.Type {
	case TypeVersatile:
		return setupVersatile(d, opts)
	case TypeCAAM:
		return Result{}, needHardware(d, "CAAM", opts.HasCAAM)
	case TypeDCP:
		return Result{}, needHardware(d, "DCP", opts.HasDCP)
	case TypeSwap:
		return setupSwap(d, opts)
	case TypeVolume:
		return setupVolume(d, opts)
	case TypeDual:
		return Result{}, printf.Errorf("%w: a dual disk is set up with the state's other disks (disk.Set)", ErrBadDisk)
	}
	return Result{}, printf.Errorf("%w: unknown type %q", ErrBadDisk, d.Type)
}

// HardwareError refuses an NXP crypt disk on a board without its key
// hardware: never a fall back to plain storage. It matches
// ErrNoKeyHardware.
type HardwareError struct{ Type, Hardware string }

func (e *HardwareError) Error() string {
	return printf.Sprintf("%s needs NXP %s key hardware, which this board does not have", e.Type, e.Hardware)
}

// Is makes errors.Is(err, ErrNoKeyHardware) true.
func (e *HardwareError) Is(target error) bool { return target == ErrNoKeyHardware }

func needHardware(d state.Disk, hw string, has bool) error {
	if !has {
		return &HardwareError{d.Type, hw}
	}
	return printf.Errorf("%s (mode %q) with NXP %s keys: %w", d.Type, d.Mode, hw, ErrUnsupported)
}
