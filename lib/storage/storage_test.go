package storage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

func sameInode(t *testing.T, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	require.NoError(t, err)
	fb, err := os.Stat(b)
	require.NoError(t, err)
	return os.SameFile(fa, fb)
}

func TestInstallLayout(t *testing.T) {
	s := openStorage(t, t.TempDir())
	fx := newFixture("a")
	st, err := s.Install("1", fx.json, fx.opener())
	require.NoError(t, err)
	trail := s.TrailPath("1")

	got, err := os.ReadFile(filepath.Join(trail, ".pvr", "json"))
	require.NoError(t, err)
	assert.Equal(t, fx.json, got, ".pvr/json is the state byte for byte")
	cfg, err := os.ReadFile(filepath.Join(trail, ".pvr", "config"))
	require.NoError(t, err)
	assert.Equal(t, `{"ObjectsDir": "/storage/objects"}`, string(cfg))

	for _, o := range st.Objects {
		p := filepath.Join(trail, o.Name)
		if strings.HasSuffix(o.Name, ".bind") {
			assert.False(t, sameInode(t, p, s.ObjectPath(o.SHA)), ".bind objects are copies")
			continue
		}
		assert.True(t, sameInode(t, p, s.ObjectPath(o.SHA)), "%s is a hard link to its object", o.Name)
	}
	run, err := os.ReadFile(filepath.Join(trail, "app", "run.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"name":"app","type":"lxc","config":"lxc.container.conf","root-volume":"dm:root.squashfs"}`, string(run))
	assert.NoFileExists(t, filepath.Join(trail, "app", "src.json"), "src.json is not installed")

	pv := filepath.Join(trail, ".pv")
	assert.True(t, sameInode(t, filepath.Join(pv, "pv-kernel.img"), filepath.Join(trail, "bsp", "kernel.img")))
	assert.True(t, sameInode(t, filepath.Join(pv, "pv-initrd.img"), filepath.Join(trail, "bsp", "pantavisor")))
	assert.True(t, sameInode(t, filepath.Join(pv, "pv-initrd.img.0"), filepath.Join(trail, "bsp", "addon.cpio.xz4")))

	rep, err := s.Verify("1")
	require.NoError(t, err)
	assert.Equal(t, 8, rep.Objects)
	assert.Equal(t, 3, rep.Skipped, "kernel.img, pantavisor and the dm-verity data device are not hashed")
	assert.Equal(t, 5, rep.Hashed)
	assert.Empty(t, rep.Cured)

	revs, err := s.Revisions()
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, revs)
	objectsConsistent(t, s)
}

func TestInstallLocalRevision(t *testing.T) {
	s := openStorage(t, t.TempDir())
	fx := newFixture("a")
	_, err := s.Install("locals/dev-build", fx.json, fx.opener())
	require.NoError(t, err)
	assert.DirExists(t, filepath.Join(s.Root, "trails", "locals", "dev-build", ".pvr"))
	revs, _ := s.Revisions()
	assert.Equal(t, []string{"locals/dev-build"}, revs)
}

// TestInstallFailuresLeaveNothing: each bad input gets its error and the
// storage is exactly as before (no trail, no staging, no new object).
func TestInstallFailuresLeaveNothing(t *testing.T) {
	fx := newFixture("a")
	flipped := fixture{json: fx.json, contents: map[string][]byte{}}
	for sha, c := range fx.contents {
		c = append([]byte(nil), c...)
		if string(c) == "rootfs a" {
			c[0] ^= 1
		}
		flipped.contents[sha] = c
	}
	partial := fixture{json: fx.json, contents: map[string][]byte{}}
	for sha, c := range fx.contents {
		if string(c) != "bound" {
			partial.contents[sha] = c
		}
	}
	for _, tc := range []struct {
		name string
		rev  string
		json []byte
		open Opener
		is   error
		msg  string
	}{
		{"no source", "1", fx.json, nil, ErrMissingObject, "missing object"},
		{"object missing from source", "1", fx.json, partial.opener(), ErrMissingObject, "app/conf.bind"},
		{"byte flipped", "1", fx.json, flipped.opener(), ErrHash, "checksum mismatch"},
		{"bad state", "1", []byte(`{"#spec":"pantavisor-service-system@1","/etc/x":"` + strings.Repeat("a", 64) + `"}`), fx.opener(), nil, "/etc/x: absolute path"},
		{"bad json", "1", []byte(`{`), fx.opener(), nil, "invalid JSON"},
		{"bad revision", "../1", fx.json, fx.opener(), ErrBadRevision, "invalid revision name"},
		{"long local", "locals/" + strings.Repeat("x", 65), fx.json, fx.opener(), ErrBadRevision, "1 to 64 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStorage(t, t.TempDir())
			_, err := s.Install(tc.rev, tc.json, tc.open)
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.ErrorContains(t, err, tc.msg)
			assertEmptyStorage(t, s)
		})
	}
}

func assertEmptyStorage(t *testing.T, s *Storage) {
	t.Helper()
	for _, d := range []string{"objects", "trails"} {
		entries, err := os.ReadDir(s.path(d))
		require.NoError(t, err)
		assert.Empty(t, entries, "%s must be empty", d)
	}
}

func TestInstallExistingRevision(t *testing.T) {
	s := openStorage(t, t.TempDir())
	fx := newFixture("a")
	_, err := s.Install("1", fx.json, fx.opener())
	require.NoError(t, err)
	_, err = s.Install("1", fx.json, fx.opener())
	assert.ErrorIs(t, err, ErrRevisionExist)
	// A second revision reuses stored objects: no source needed.
	_, err = s.Install("2", fx.json, nil)
	require.NoError(t, err)
}

func TestInstallNoSpace(t *testing.T) {
	s := openStorage(t, t.TempDir())
	s.statfs = func(string) (uint64, uint64, error) { return 1100, 10000, nil } // reserve 5% = 500
	fx := newFixture("a")
	big := fixture{json: fx.json, contents: fx.contents}
	_, err := s.Install("1", big.json, func(o state.Object) (io.ReadCloser, int64, error) {
		rc, _, err := big.opener()(o)
		return rc, 601, err
	})
	require.ErrorIs(t, err, ErrNoSpace)
	assert.ErrorContains(t, err, "Space required 601 B, available 600 B")
	assertEmptyStorage(t, s)
}

func TestOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := openStorage(t, dir)
	require.NoError(t, os.WriteFile(s.ObjectPath(strings.Repeat("a", 64))+".tmp", []byte("half"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "trails", ".new.7", ".pvr"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "trails", "locals", ".new.x"), 0o755))
	s = openStorage(t, dir)
	entries, _ := os.ReadDir(s.path("objects"))
	assert.Empty(t, entries, "partial object removed")
	entries, _ = os.ReadDir(s.path("trails"))
	require.Len(t, entries, 1)
	assert.Equal(t, "locals", entries[0].Name(), "staging trail removed")
	entries, _ = os.ReadDir(s.path("trails", "locals"))
	assert.Empty(t, entries, "local staging trail removed")
}

// TestOpenExisting: with Existing, a missing root, an empty directory and
// a file get ErrNoStorage and nothing is created; a storage opens.
func TestOpenExisting(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, root := range []string{missing, empty, file} {
		_, err := Open(root, Options{Existing: true})
		require.ErrorIs(t, err, ErrNoStorage, root)
		assert.ErrorContains(t, err, "opening storage "+root)
	}
	assert.NoDirExists(t, missing, "nothing created")
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing created in an empty directory")

	openStorage(t, empty)
	_, err = Open(empty, Options{Existing: true})
	assert.NoError(t, err, "a storage made by Open opens")
}

func TestVerifyCuresAndCatches(t *testing.T) {
	fx := newFixture("a")
	setup := func(t *testing.T) (*Storage, string) {
		s := openStorage(t, t.TempDir())
		_, err := s.Install("1", fx.json, fx.opener())
		require.NoError(t, err)
		return s, s.TrailPath("1")
	}
	t.Run("missing link is cured", func(t *testing.T) {
		s, trail := setup(t)
		require.NoError(t, os.Remove(filepath.Join(trail, "_config", "app", "etc", "hosts")))
		rep, err := s.Verify("1")
		require.NoError(t, err)
		assert.Equal(t, []string{"_config/app/etc/hosts"}, rep.Cured)
		assert.FileExists(t, filepath.Join(trail, "_config", "app", "etc", "hosts"))
	})
	t.Run("object content changed", func(t *testing.T) {
		s, trail := setup(t)
		require.NoError(t, os.WriteFile(filepath.Join(trail, "app", "lxc.container.conf"), []byte("tampered"), 0o644))
		_, err := s.Verify("1")
		assert.ErrorIs(t, err, ErrHash)
		assert.ErrorContains(t, err, "app/lxc.container.conf")
	})
	t.Run("two objects changed: the first in state order is reported", func(t *testing.T) {
		s, trail := setup(t)
		data, err := s.StateJSON("1")
		require.NoError(t, err)
		st, err := state.Parse(data, state.Options{})
		require.NoError(t, err)
		var names []string
		for _, o := range st.Objects {
			if !strings.HasPrefix(o.Name, "bsp/") {
				names = append(names, o.Name)
			}
		}
		require.GreaterOrEqual(t, len(names), 3)
		first, last := names[0], names[len(names)-1]
		for _, n := range []string{last, first} { // written in reverse
			require.NoError(t, os.WriteFile(filepath.Join(trail, n), []byte("tampered "+n), 0o644))
		}
		for i := 0; i < 20; i++ { // the hashes finish in any order
			_, err = s.Verify("1")
			require.ErrorIs(t, err, ErrHash)
			require.ErrorContains(t, err, first+": ")
		}
	})
	t.Run("every distinct object is hashed once", func(t *testing.T) {
		s, _ := setup(t)
		rep, err := s.Verify("1")
		require.NoError(t, err)
		assert.Equal(t, rep.Objects-rep.Skipped, rep.Hashed, "the fixture's objects are distinct")
		assert.Positive(t, rep.Hashed)
	})
	t.Run("trail file replaced by a copy", func(t *testing.T) {
		s, trail := setup(t)
		p := filepath.Join(trail, "app", "root.squashfs.hash")
		require.NoError(t, os.Remove(p))
		require.NoError(t, os.WriteFile(p, []byte("hash tree a"), 0o644))
		_, err := s.Verify("1")
		assert.ErrorContains(t, err, "not a link to objects/")
	})
	t.Run("inline json changed", func(t *testing.T) {
		s, trail := setup(t)
		require.NoError(t, os.WriteFile(filepath.Join(trail, "app", "run.json"), []byte(`{}`), 0o644))
		_, err := s.Verify("1")
		assert.ErrorContains(t, err, "app/run.json")
	})
	t.Run("skip list is not hashed", func(t *testing.T) {
		s, trail := setup(t)
		require.NoError(t, os.WriteFile(filepath.Join(trail, "bsp", "kernel.img"), []byte("other kernel"), 0o644))
		_, err := s.Verify("1")
		assert.NoError(t, err, "upstream does not hash bsp/kernel.img at boot")
	})
	t.Run("unknown revision", func(t *testing.T) {
		s, _ := setup(t)
		_, err := s.Verify("9")
		assert.ErrorIs(t, err, ErrNoRevision)
	})
}

func TestGC(t *testing.T) {
	s := openStorage(t, t.TempDir())
	a, b, c := newFixture("a"), newFixture("b"), newFixture("c")
	for rev, fx := range map[string]fixture{"0": a, "1": b, "2": c} {
		_, err := s.Install(rev, fx.json, fx.opener())
		require.NoError(t, err)
	}
	require.NoError(t, os.MkdirAll(s.path("logs", "1", "app"), 0o755))
	require.NoError(t, os.WriteFile(s.path("logs", "1", "app", "lxc.log"), []byte("12345"), 0o644))
	require.NoError(t, os.MkdirAll(s.path("disks", "rev", "1", "app", "vol"), 0o755))
	require.NoError(t, s.SetCurrent("2"))

	rep, err := s.GC(GCOptions{KeepFactory: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, rep.Revisions, "keeps current (2) and factory (0)")
	assert.Equal(t, 2, rep.Objects, "rootfs b and hash tree b had no other link; the .bind object is still used by 0 and 2")
	stB, err := state.Parse(b.json, state.Options{})
	require.NoError(t, err)
	trailOwn := len(b.json) + len(`{"ObjectsDir": "/storage/objects"}`) + len("bound") // .pvr files, .bind copy
	for _, j := range stB.JSONs {
		trailOwn += len(j.Raw)
	}
	assert.EqualValues(t, len("rootfs b")+len("hash tree b")+trailOwn+len("12345"), rep.Bytes,
		"unshared objects, the trail's own files and the log file")
	assert.NoDirExists(t, s.path("logs", "1"))
	assert.NoDirExists(t, s.path("disks", "rev", "1"))
	objectsConsistent(t, s)
	_, err = s.Verify("0")
	require.NoError(t, err)
	_, err = s.Verify("2")
	require.NoError(t, err)

	rep, err = s.GC(GCOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"0"}, rep.Revisions)
	revs, _ := s.Revisions()
	assert.Equal(t, []string{"2"}, revs)
}

func TestRevisionNames(t *testing.T) {
	for rev, ok := range map[string]bool{
		"0": true, "42": true, "locals/x": true, "locals/" + strings.Repeat("n", 64): true,
		"": false, "-1": false, "1a": false, "current": false, "locals": false, "locals/": false,
		"locals/a/b": false, "locals/..": false, "locals/.new.x": false, "locals/" + strings.Repeat("n", 65): false,
		"../0": false, "123456789012345678901": false,
		"locals/.x": false, "locals/a\\b": false, "locals/a%2fb": false, "locals/a?b": false, "locals/a\nb": false,
		"locals/a\x00b": false, "locals/a\x7fb": false, "locals/é-1_x.y": true,
	} {
		err := CheckRevision(rev)
		if ok {
			assert.NoError(t, err, rev)
		} else {
			assert.ErrorIs(t, err, ErrBadRevision, rev)
		}
	}
}

func TestTrailFiles(t *testing.T) {
	s := openStorage(t, t.TempDir())
	fx := newFixture("a")
	_, err := s.Install("3", fx.json, fx.opener())
	require.NoError(t, err)

	p, err := s.Progress("3")
	require.NoError(t, err)
	assert.Nil(t, p)
	require.NoError(t, s.SetProgress("3", []byte(`{"status":"DONE"}`)))
	p, err = s.Progress("3")
	require.NoError(t, err)
	assert.Equal(t, `{"status":"DONE"}`, string(p))

	assert.False(t, s.IsDone("3"))
	require.NoError(t, s.MarkDone("3"))
	assert.True(t, s.IsDone("3"))

	require.NoError(t, s.SetCommitMsg("3", []byte("first")))
	assert.ErrorContains(t, s.SetCommitMsg("3", make([]byte, MaxCommitMsg+1)), "at most 256")
	assert.ErrorIs(t, s.SetProgress("4", nil), ErrNoRevision)

	require.NoError(t, s.SetCurrent("3"))
	cur, err := s.Current()
	require.NoError(t, err)
	assert.Equal(t, "3", cur)
	assert.ErrorIs(t, s.SetCurrent("4"), ErrNoRevision)

	assert.Equal(t, s.path("disks", "perm", "app", "data"), s.VolumePath("permanent", "3", "app", "data"))
	assert.Equal(t, s.path("disks", "rev", "3", "app", "data"), s.VolumePath("revision", "3", "app", "data"))
	assert.Equal(t, "", s.VolumePath("boot", "3", "app", "data"))
}

func TestInstallObjectRejectsBadName(t *testing.T) {
	s := openStorage(t, t.TempDir())
	_, err := s.InstallObject("../../etc/passwd", 1, strings.NewReader("x"))
	assert.ErrorContains(t, err, "not a sha256")
	_, err = s.InstallObject(sum([]byte("abc")), 5, strings.NewReader("abc"))
	assert.ErrorContains(t, err, "got 3 bytes, want 5")
	added, err := s.InstallObject(sum([]byte("abc")), -1, strings.NewReader("abc"))
	require.NoError(t, err)
	assert.True(t, added)
	added, err = s.InstallObject(sum([]byte("abc")), -1, errReader{})
	require.NoError(t, err)
	assert.False(t, added, "already stored: the reader is not used")
	objectsConsistent(t, s)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("must not be read") }

const conformanceDir = "../../testdata/conformance/pvtx/resources/"

func TestInstallConformancePackages(t *testing.T) {
	for _, pkg := range []string{"pvwificonnect.tgz", "watchdog_pinger.tar"} {
		t.Run(pkg, func(t *testing.T) {
			s := openStorage(t, t.TempDir())
			f, err := os.Open(conformanceDir + pkg)
			require.NoError(t, err)
			defer f.Close()
			st, err := s.InstallPackage("0", f)
			require.NoError(t, err)
			require.Len(t, st.Containers, 1)
			rep, err := s.Verify("0")
			require.NoError(t, err)
			assert.Equal(t, 3, rep.Objects)
			assert.Equal(t, 3, rep.Hashed)
			objectsConsistent(t, s)
		})
	}
}

// TestInstallPackageFlippedByte: each conformance package with one byte
// of one object flipped (re-packed the same way) is refused with a
// checksum error, and the storage stays empty.
func TestInstallPackageFlippedByte(t *testing.T) {
	for _, pkg := range []string{"pvwificonnect.tgz", "watchdog_pinger.tar"} {
		t.Run(pkg, func(t *testing.T) {
			flipped := flipObjectByte(t, conformanceDir+pkg, strings.HasSuffix(pkg, ".tgz"))
			s := openStorage(t, t.TempDir())
			_, err := s.InstallPackage("0", bytes.NewReader(flipped))
			require.ErrorIs(t, err, ErrHash)
			assert.ErrorContains(t, err, "content hashes to")
			assertEmptyStorage(t, s)
		})
	}
}

// flipObjectByte re-packs a package with the middle byte of its largest
// object flipped.
func flipObjectByte(t *testing.T, path string, gz bool) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		r = zr
	}
	type file struct {
		hdr  *tar.Header
		body []byte
	}
	var files []file
	big := -1
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		files = append(files, file{hdr, body})
		if strings.HasPrefix(hdr.Name, "objects/") && (big < 0 || len(body) > len(files[big].body)) {
			big = len(files) - 1
		}
	}
	require.GreaterOrEqual(t, big, 0)
	files[big].body[len(files[big].body)/2] ^= 0x40
	var out bytes.Buffer
	var w io.Writer = &out
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&out)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, fl := range files {
		require.NoError(t, tw.WriteHeader(fl.hdr))
		_, err := tw.Write(fl.body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	if zw != nil {
		require.NoError(t, zw.Close())
	}
	return out.Bytes()
}

func TestInstallDir(t *testing.T) {
	// A trail of one storage installs into another.
	src := openStorage(t, t.TempDir())
	fx := newFixture("a")
	_, err := src.Install("5", fx.json, fx.opener())
	require.NoError(t, err)
	dst := openStorage(t, t.TempDir())
	_, err = dst.InstallDir("0", src.TrailPath("5"))
	require.NoError(t, err)
	_, err = dst.Verify("0")
	require.NoError(t, err)
	_, err = dst.InstallDir("1", t.TempDir())
	assert.ErrorContains(t, err, "no state json")
}
