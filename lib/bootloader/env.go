package bootloader

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Env is a bootloader environment: Set and Unset stage changes in memory,
// Commit writes them durably. Get sees staged changes.
type Env interface {
	Get(key string) (string, bool)
	Set(key, value string) error
	Unset(key string) error
	Commit() error
}

// Kinds, as PV_BOOTLOADER_TYPE names them; KindDirect is ours.
const (
	KindGrub     = "grub"
	KindUboot    = "uboot"
	KindUbootPVK = "uboot-pvk" // upstream's uboot with a Pantavisor kernel: same uboot.txt
	KindDirect   = "direct"
)

// BlockSize is the size of a GRUB env block and of uboot.txt.
const BlockSize = 1024

// Sentinels callers branch on.
var (
	// ErrCorrupt: the file does not parse; Open still returns the usable
	// part (what GRUB or U-Boot would read, often nothing).
	ErrCorrupt error = &sentinel.Error{Text: "corrupt bootloader env"}
	// ErrTooBig: the content would not fit in BlockSize bytes.
	ErrTooBig error = &sentinel.Error{Text: "bootloader env does not fit in 1024 bytes"}
	// ErrInvalid: a key or value the format cannot hold.
	ErrInvalid error = &sentinel.Error{Text: "invalid bootloader env entry"}
	// ErrKind: an unknown bootloader kind.
	ErrKind error = &sentinel.Error{Text: "unknown bootloader type"}
)

// maxRead bounds how much of an env file is read (GRUB accepts blocks
// larger than 1024 bytes; nothing sane is larger than this).
const maxRead = 64 << 10

// Options are how envs are opened. The zero value writes without crash
// points and keeps a uboot latch in uboot.txt.
type Options struct {
	Writer *persist.Writer // crash points of every write; nil: none
	// UbootLatch is the file holding pv_trying for the uboot kinds: the
	// latch env U-Boot itself writes (UbootLatchFile on the boot FAT
	// partition, mounted by the caller), in uboot.txt's format. "" keeps
	// pv_trying in uboot.txt, as upstream's MTD-less uboot backend does.
	UbootLatch string
}

// UbootLatchFile is the name of U-Boot's latch env on the boot FAT
// partition (upstream's pv.env, which holds pv_trying only): 1024 bytes,
// as the boot script writes them with "env export -b" and fatwrite.
const UbootLatchFile = "pv.env"

// Open opens the env of kind at path with zero Options.
func Open(kind, path string) (Env, error) { return Options{}.Open(kind, path) }

// Open reads the env of kind at path. A missing file is an empty env
// (Commit creates it). A file that does not parse returns a usable env
// holding what the bootloader would read (possibly nothing) together with
// an error wrapping ErrCorrupt: report it and carry on with the env, the
// next Commit rewrites the file whole.
func (o Options) Open(kind, path string) (Env, error) {
	c, inPlace, err := codecOf(kind)
	if err != nil {
		return nil, err
	}
	e := &fileEnv{path: path, codec: c, inPlace: inPlace, w: o.Writer}
	data, err := readFile(path)
	if err != nil || data == nil {
		return e, err
	}
	e.vars, err = c.parse(data)
	if err != nil {
		return e, printf.Errorf("reading %s: %w", path, err)
	}
	return e, nil
}

// codecOf returns the file format of kind and whether it is rewritten in
// place.
func codecOf(kind string) (codec, bool, error) {
	switch kind {
	case KindGrub:
		return grubCodec, true, nil
	case KindUboot, KindUbootPVK:
		return ubootCodec, true, nil
	case KindDirect:
		return grubCodec, false, nil
	}
	return 0, false, printf.Errorf("%w %q (want %s, %s, %s or %s)", ErrKind, kind, KindGrub, KindUboot, KindUbootPVK, KindDirect)
}

// readFile returns the first maxRead bytes of path, nil if it is missing.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, printf.Errorf("reading bootloader env: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRead))
	if err != nil {
		return nil, printf.Errorf("reading bootloader env %s: %w", path, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// Layout returns the files of kind relative to the storage root: the env
// holding pv_rev and pv_try, and the latch env holding pv_trying ("" when
// it is the same file).
func Layout(kind string) (env, latch string, err error) {
	switch kind {
	case KindGrub:
		return "boot/grubenv", "boot/grub/grubenv", nil
	case KindUboot, KindUbootPVK:
		return "boot/uboot.txt", "", nil
	case KindDirect:
		return "boot/direct.env", "", nil
	}
	_, _, err = codecOf(kind)
	return "", "", err
}

// OpenBoot opens the envs of kind below the storage root (see Layout),
// and for the uboot kinds the latch env o.UbootLatch when set. A corrupt
// file is reported with ErrCorrupt alongside a usable Boot.
func (o Options) OpenBoot(kind, storage string) (*Boot, error) {
	envPath, latchPath, err := Layout(kind)
	if err != nil {
		return nil, err
	}
	if latchPath != "" {
		latchPath = filepath.Join(storage, latchPath)
	} else if (kind == KindUboot || kind == KindUbootPVK) && o.UbootLatch != "" {
		latchPath = o.UbootLatch
	}
	b := &Boot{Direct: kind == KindDirect}
	var errs []error
	b.Env, err = o.Open(kind, filepath.Join(storage, envPath))
	errs = append(errs, err)
	if latchPath != "" {
		b.Latch, err = o.Open(kind, latchPath)
		errs = append(errs, err)
	}
	if b.Env == nil || (latchPath != "" && b.Latch == nil) {
		return nil, errors.Join(errs...)
	}
	return b, errors.Join(errs...)
}
