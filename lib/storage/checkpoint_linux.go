package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// ext4IocCheckpoint is EXT4_IOC_CHECKPOINT, _IOW('f', 43, __u32) (linux/ext4.h).
const ext4IocCheckpoint = 0x4004662b

// Checkpoint writes everything committed to the storage's journal to its
// final place on disk. A bootloader reads ext4 without replaying the
// journal: before pointing it at a new revision (pv_try), the revision's
// trail and boot assets must be where it looks, not only in the journal,
// or a power cut right after the switch leaves it files it cannot find.
// It syncs the filesystem, then asks ext4 for a checkpoint (Linux 5.13).
// A filesystem without the ioctl gets the sync only: that is all a
// filesystem without a journal needs, and an older ext4 could be frozen
// and thawed instead, which stalls every writer of the filesystem, so we
// do not.
// It reports whether the journal was checkpointed (false: synced only).
func (s *Storage) Checkpoint() (bool, error) {
	f, err := os.Open(s.Root)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.Syncfs(fd); err != nil {
		return false, &os.PathError{Op: "syncfs", Path: s.Root, Err: err}
	}
	err = unix.IoctlSetPointerInt(fd, ext4IocCheckpoint, 0)
	if err != nil && unsupported(err) {
		return false, nil
	}
	return err == nil, pathErr("checkpoint", s.Root, err)
}

// unsupported: the filesystem does not know the ioctl, or (ENODEV) is an
// ext4 without a journal.
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.ENODEV)
}

func pathErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: path, Err: err}
}
