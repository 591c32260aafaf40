package storage

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/fsverity"
)

// fakeVerity stands in for the kernel: enable records a digest of the
// file's content per inode (hard links share it), measure returns it
// (what the descriptor says, whatever the bytes became since), or
// ErrNotEnabled; off makes both report ErrUnsupported.
type fakeVerity struct {
	mu      sync.Mutex
	off     bool
	digests map[uint64]fsverity.Digest
	enabled int
}

func newFakeVerity() *fakeVerity { return &fakeVerity{digests: map[uint64]fsverity.Digest{}} }

func inode(t testing.TB, p string) (uint64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return fi.Sys().(*syscall.Stat_t).Ino, nil
}

func (f *fakeVerity) ops(t testing.TB) verityOps {
	return verityOps{
		enable: func(p string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.off {
				return fmt.Errorf("FS_IOC_ENABLE_VERITY %s: %w", p, fsverity.ErrUnsupported)
			}
			ino, err := inode(t, p)
			if err != nil {
				return err
			}
			if _, ok := f.digests[ino]; ok {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(append([]byte("verity:"), data...))
			f.digests[ino] = fsverity.Digest{Algorithm: 1, Sum: h[:]}
			f.enabled++
			return nil
		},
		measure: func(p string) (fsverity.Digest, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.off {
				return fsverity.Digest{}, fmt.Errorf("FS_IOC_MEASURE_VERITY %s: %w", p, fsverity.ErrUnsupported)
			}
			ino, err := inode(t, p)
			if err != nil {
				return fsverity.Digest{}, err
			}
			d, ok := f.digests[ino]
			if !ok {
				return fsverity.Digest{}, fmt.Errorf("FS_IOC_MEASURE_VERITY %s: %w", p, fsverity.ErrNotEnabled)
			}
			return d, nil
		},
	}
}

// verityStorage is a storage with the fake kernel and revision "1" of
// the fixture installed.
func verityStorage(t *testing.T, fv *fakeVerity) (*Storage, fixture) {
	t.Helper()
	s := openStorage(t, t.TempDir())
	s.verity = fv.ops(t)
	f := newFixture("a")
	_, err := s.Install("1", f.json, f.opener())
	require.NoError(t, err)
	return s, f
}

// TestVerityInstallSealsAndRecords: every installed object gets
// fs-verity and a record holding its measured digest; the boot check then
// hashes only the .bind copy and measures the rest.
func TestVerityInstallSealsAndRecords(t *testing.T) {
	fv := newFakeVerity()
	s, f := verityStorage(t, fv)
	assert.Equal(t, len(f.contents), fv.enabled)
	for sha := range f.contents {
		want, err := fv.ops(t).measure(s.ObjectPath(sha))
		require.NoError(t, err)
		got, err := s.readRecord(sha)
		require.NoError(t, err, "record of %s", sha)
		assert.True(t, got.Equal(want))
	}
	rep, err := s.Verify("1")
	require.NoError(t, err)
	assert.Equal(t, 8, rep.Objects)
	assert.Equal(t, 3, rep.Skipped)
	assert.Equal(t, 4, rep.Measured, "addon, config, hash tree, hosts")
	assert.Equal(t, 1, rep.Hashed, "the .bind copy only")
	assert.Zero(t, rep.Sealed)
	assert.NoError(t, rep.Verity)
}

// TestVerityRecordMismatchFails: a record that parses and differs from the
// measured digest is a checksum failure naming both digests.
func TestVerityRecordMismatchFails(t *testing.T) {
	s, f := verityStorage(t, newFakeVerity())
	sha := sum([]byte("127.0.0.1 localhost"))
	require.Contains(t, f.contents, sha)
	other := fsverity.Digest{Algorithm: 1, Sum: make([]byte, 32)}
	require.NoError(t, s.writeRecord(sha, other))
	_, err := s.Verify("1")
	require.ErrorIs(t, err, ErrHash)
	assert.Contains(t, err.Error(), "_config/app/etc/hosts")
	assert.Contains(t, err.Error(), "fs-verity digest sha256:")
	assert.Contains(t, err.Error(), "recorded "+other.String())
}

// TestVerityNoBypass: neither a record without verity on the file nor a
// verity file without a record skips the hash; corrupt content is found.
func TestVerityNoBypass(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(s *Storage, sha string)
	}{
		{"object replaced by a file without verity", func(s *Storage, sha string) {
			p := s.ObjectPath(sha)
			tmp := p + ".x"
			require.NoError(t, os.WriteFile(tmp, []byte("corrupt"), 0o644))
			require.NoError(t, os.Rename(tmp, p))
			trail := filepath.Join(s.TrailPath("1"), "_config", "app", "etc", "hosts")
			require.NoError(t, os.Remove(trail))
			require.NoError(t, os.Link(p, trail))
		}},
		{"record removed, content changed under verity", func(s *Storage, sha string) {
			require.NoError(t, os.Remove(s.verityRecord(sha)))
			require.NoError(t, os.WriteFile(s.ObjectPath(sha), []byte("corrupt"), 0o644))
		}},
		{"record malformed, content changed under verity", func(s *Storage, sha string) {
			require.NoError(t, os.WriteFile(s.verityRecord(sha), []byte("sha256:zz"), 0o644))
			require.NoError(t, os.WriteFile(s.ObjectPath(sha), []byte("corrupt"), 0o644))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := verityStorage(t, newFakeVerity())
			sha := sum([]byte("127.0.0.1 localhost"))
			tc.spoil(s, sha)
			_, err := s.Verify("1")
			require.ErrorIs(t, err, ErrHash)
			assert.Contains(t, err.Error(), "want "+sha)
		})
	}
}

// TestVerityLazyMigration: objects stored without fs-verity (storage
// installed before it, or a lost record) are hashed once at their first
// check, then sealed and recorded; the next check only measures.
func TestVerityLazyMigration(t *testing.T) {
	fv := newFakeVerity()
	fv.off = true
	s, _ := verityStorage(t, fv)
	entries, err := os.ReadDir(s.path(verityDir))
	assert.True(t, errors.Is(err, os.ErrNotExist) || len(entries) == 0, "no records without verity")

	fv.off = false
	rep, err := s.Verify("1")
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Hashed)
	assert.Equal(t, 4, rep.Sealed)
	assert.Zero(t, rep.Measured)
	assert.NoError(t, rep.Verity)

	require.NoError(t, os.Remove(s.verityRecord(sum([]byte("addon")))))
	rep, err = s.Verify("1")
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Measured)
	assert.Equal(t, 2, rep.Hashed, "the .bind copy and the object whose record was lost")
	assert.Equal(t, 1, rep.Sealed)

	rep, err = s.Verify("1")
	require.NoError(t, err)
	assert.Equal(t, 4, rep.Measured)
	assert.Equal(t, 1, rep.Hashed)
}

// TestVerityUnsupported: storage without fs-verity hashes every object
// as before, says why in the report, and writes no record.
func TestVerityUnsupported(t *testing.T) {
	fv := newFakeVerity()
	fv.off = true
	s, _ := verityStorage(t, fv)
	rep, err := s.Verify("1")
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Hashed)
	assert.Zero(t, rep.Measured+rep.Sealed)
	assert.ErrorIs(t, rep.Verity, fsverity.ErrUnsupported)
	_, err = os.Stat(s.path(verityDir))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestVerityInstallError: an enable failure other than "unsupported"
// (here a full disk) fails the install and leaves no object.
func TestVerityInstallError(t *testing.T) {
	s := openStorage(t, t.TempDir())
	s.verity = verityOps{
		enable:  func(string) error { return fmt.Errorf("FS_IOC_ENABLE_VERITY: %w", syscall.ENOSPC) },
		measure: func(string) (fsverity.Digest, error) { return fsverity.Digest{}, fsverity.ErrNotEnabled },
	}
	sha := sum([]byte("x"))
	_, err := s.InstallObject(sha, 1, strings.NewReader("x"))
	require.ErrorIs(t, err, ErrNoSpace)
	assert.False(t, s.HasObject(sha))
	objectsConsistent(t, s)
}

// TestVerityGCRemovesRecords: the collector removes the records of the
// objects it removes, and keeps the others'.
func TestVerityGCRemovesRecords(t *testing.T) {
	s, _ := verityStorage(t, newFakeVerity())
	f2 := newFixture("b")
	_, err := s.Install("2", f2.json, f2.opener())
	require.NoError(t, err)
	require.NoError(t, s.SetCurrent("2"))
	gone := sum([]byte("rootfs a"))
	require.FileExists(t, s.verityRecord(gone))
	require.NoError(t, os.WriteFile(s.verityRecord(gone)+".tmp", []byte("x"), 0o644))
	rep, err := s.GC(GCOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, rep.Revisions)
	assert.NoFileExists(t, s.verityRecord(gone))
	assert.NoFileExists(t, s.verityRecord(gone)+".tmp")
	assert.FileExists(t, s.verityRecord(sum([]byte("rootfs b"))))
	assert.FileExists(t, s.verityRecord(sum([]byte("addon"))), "shared by revision 2")
}
