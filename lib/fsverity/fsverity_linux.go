package fsverity

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
	"pantavisor/lib/printf"
)

// Error is a failed fs-verity ioctl: the operation, the file and the
// errno (errors.Is(err, unix.ENOTTY) works), plus ErrUnsupported or
// ErrNotEnabled when the errno means that.
type Error struct {
	Op   string // FS_IOC_ENABLE_VERITY, FS_IOC_MEASURE_VERITY
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }

// Unwrap gives the errno and, when it has one, the meaning.
func (e *Error) Unwrap() []error {
	if m := meaning(e.Op, e.Err); m != nil {
		return []error{m, e.Err}
	}
	return []error{e.Err}
}

// meaning maps an errno of op to a sentinel. ENOTTY: the filesystem has
// no verity ioctls (tmpfs; ENOSYS from some FUSE servers); EOPNOTSUPP:
// verity not built in, or ext4 without the feature; ENOPKG: no sha256 in
// the kernel; on enable, EINVAL: block size or algorithm refused (before
// Linux 6.3, any block size but the page size), EROFS: a read-only
// mount. ENODATA on measure: the file has no verity.
func meaning(op string, err error) error {
	switch {
	case errors.Is(err, unix.ENOTTY), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOPKG), errors.Is(err, unix.ENOSYS):
		return ErrUnsupported
	case op == opEnable && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EROFS)):
		return ErrUnsupported
	case op == opMeasure && errors.Is(err, unix.ENODATA):
		return ErrNotEnabled
	}
	return nil
}

const (
	opEnable  = "FS_IOC_ENABLE_VERITY"
	opMeasure = "FS_IOC_MEASURE_VERITY"
)

// Enable turns fs-verity on for the regular file path with sha256 and
// BlockSize, no salt and no signature; a file that has it already is not
// an error. The kernel reads the whole file to build the Merkle tree
// (stored past the end of the file) and from then on refuses writes
// (EPERM) and checks every block read (EIO on a mismatch). The file must
// not be open for writing anywhere (ETXTBSY).
func Enable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	arg := unix.FsverityEnableArg{Version: 1, Hash_algorithm: unix.FS_VERITY_HASH_ALG_SHA256, Block_size: BlockSize}
	err = eintr.Retry(func() error {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.FS_IOC_ENABLE_VERITY, uintptr(unsafe.Pointer(&arg)))
		if errno != 0 {
			return errno
		}
		return nil
	})
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return &Error{Op: opEnable, Path: path, Err: err}
	}
	return nil
}

// maxDigest is the largest digest fs-verity makes (sha512).
const maxDigest = 64

// Measure returns the fs-verity digest of path, in constant time (the
// kernel keeps it from when the file was opened). A file without verity
// is an ErrNotEnabled error.
func Measure(path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	var buf struct {
		unix.FsverityDigest
		sum [maxDigest]byte
	}
	buf.Size = maxDigest
	err = eintr.Retry(func() error {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.FS_IOC_MEASURE_VERITY, uintptr(unsafe.Pointer(&buf)))
		if errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		return Digest{}, &Error{Op: opMeasure, Path: path, Err: err}
	}
	if int(buf.Size) > maxDigest {
		return Digest{}, &Error{Op: opMeasure, Path: path, Err: printf.Errorf("digest of %d bytes", buf.Size)}
	}
	return Digest{Algorithm: buf.Algorithm, Sum: append([]byte(nil), buf.sum[:buf.Size]...)}, nil
}
