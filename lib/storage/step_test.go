package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/progress"
	"pantavisor/lib/state"
)

const (
	minimalState = `{"#spec":"pantavisor-service-system@1"}`
	keptState    = `{ "#spec": "pantavisor-service-system@1" }`
)

// tmpLeft lists the temporary and staging entries left in objects/,
// trails/ and trails/locals/.
func tmpLeft(t *testing.T, s *Storage) []string {
	t.Helper()
	var left []string
	for _, d := range []string{"objects", "trails", "trails/locals"} {
		entries, _ := os.ReadDir(s.path(d))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") || strings.HasPrefix(e.Name(), ".") {
				left = append(left, d+"/"+e.Name())
			}
		}
	}
	return left
}

func TestInstallObjectUnknownSize(t *testing.T) {
	s := openStorage(t, t.TempDir())
	data := bytes.Repeat([]byte("0123456789"), 300_000) // crosses several buffers
	added, err := s.InstallObject(sum(data), -1, bytes.NewReader(data))
	require.NoError(t, err)
	assert.True(t, added)
	objectsConsistent(t, s)
	fi, err := os.Stat(s.ObjectPath(sum(data)))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	added, err = s.InstallObject(sum(data), -1, errReader{})
	require.NoError(t, err)
	assert.False(t, added, "already stored: not read")
}

func TestInstallObjectFailuresLeaveNothing(t *testing.T) {
	data := []byte("object content")
	for name, tc := range map[string]struct {
		sha  string
		size int64
		r    io.Reader
		want error
	}{
		"bad hash":        {sum([]byte("other")), -1, bytes.NewReader(data), ErrHash},
		"short":           {sum(data), int64(len(data)) + 1, bytes.NewReader(data), nil},
		"truncated body":  {sum(data), -1, io.MultiReader(bytes.NewReader(data[:4]), errReaderWith{io.ErrUnexpectedEOF}), io.ErrUnexpectedEOF},
		"read error":      {sum(data), -1, errReader{}, nil},
		"over free space": {sum(data), 1 << 40, bytes.NewReader(data), ErrNoSpace},
	} {
		t.Run(name, func(t *testing.T) {
			s := openStorage(t, t.TempDir())
			s.statfs = func(string) (uint64, uint64, error) { return 1 << 30, 1 << 31, nil }
			added, err := s.InstallObject(tc.sha, tc.size, tc.r)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.False(t, added)
			assert.False(t, s.HasObject(tc.sha))
			assert.Empty(t, tmpLeft(t, s))
		})
	}
}

type errReaderWith struct{ err error }

func (e errReaderWith) Read([]byte) (int, error) { return 0, e.err }

// TestInstallObjectReserveReached fills the storage past its reserve in the
// middle of an upload of unknown size: ErrNoSpace, nothing left.
func TestInstallObjectReserveReached(t *testing.T) {
	s := openStorage(t, t.TempDir())
	calls := 0
	s.statfs = func(string) (uint64, uint64, error) {
		calls++
		return 1 << 20, 100 << 20, nil // 1 MiB free of 100: under the 5% reserve
	}
	data := bytes.Repeat([]byte{7}, 3*spaceCheckEvery)
	_, err := s.InstallObject(sum(data), -1, bytes.NewReader(data))
	assert.ErrorIs(t, err, ErrNoSpace)
	assert.Equal(t, 1, calls, "checked once the first check point was crossed")
	assert.Empty(t, tmpLeft(t, s))
	assert.False(t, s.HasObject(sum(data)))
}

// TestInstallObjectConcurrent uploads the same object from several
// goroutines: every call succeeds, exactly one adds it, no temp file stays.
func TestInstallObjectConcurrent(t *testing.T) {
	s := openStorage(t, t.TempDir())
	data := bytes.Repeat([]byte("concurrent"), 500_000)
	sha := sum(data)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	addedCount := 0
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			added, err := s.InstallObject(sha, int64(len(data)), bytes.NewReader(data))
			assert.NoError(t, err)
			if added {
				mu.Lock()
				addedCount++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	assert.LessOrEqual(t, addedCount, 1)
	assert.True(t, s.HasObject(sha))
	objectsConsistent(t, s)
	assert.Empty(t, tmpLeft(t, s))
}

func TestOpenObjectAndList(t *testing.T) {
	s := openStorage(t, t.TempDir())
	a, b := []byte("aaa"), []byte("bb")
	for _, d := range [][]byte{a, b} {
		_, err := s.InstallObject(sum(d), int64(len(d)), bytes.NewReader(d))
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(s.ObjectPath(sum(a))+".x.tmp", nil, 0o644))
	objs, err := s.Objects()
	require.NoError(t, err)
	want := []ObjectInfo{{sum(a), 3}, {sum(b), 2}}
	if want[0].SHA > want[1].SHA {
		want[0], want[1] = want[1], want[0]
	}
	assert.Equal(t, want, objs)

	f, err := s.OpenObject(sum(a))
	require.NoError(t, err)
	got, _ := io.ReadAll(f)
	f.Close()
	assert.Equal(t, a, got)
	for _, bad := range []string{sum([]byte("none")), "../x", strings.ToUpper(sum(a))} {
		_, err := s.OpenObject(bad)
		assert.ErrorIs(t, err, ErrMissingObject, bad)
	}
}

func readProgress(t *testing.T, s *Storage, rev string) string {
	t.Helper()
	p, err := s.Progress(rev)
	require.NoError(t, err)
	return string(p)
}

func TestPutState(t *testing.T) {
	s := openStorage(t, t.TempDir())
	fx := newFixture("a")
	st, err := s.PutState("locals/x", int64(len(fx.json)), bytes.NewReader(fx.json))
	require.NoError(t, err)
	assert.NotEmpty(t, st.Objects)
	got, err := s.StateJSON("locals/x")
	require.NoError(t, err)
	assert.Equal(t, fx.json, got)
	assert.Equal(t, `{"status":"NEW","status-msg":"Update ready to be run","progress":0,"retries":0}`, readProgress(t, s, "locals/x"))
	assert.Empty(t, tmpLeft(t, s))

	// Overwrite, with a body of unknown length.
	require.NoError(t, s.SetCommitMsg("locals/x", []byte("old")))
	_, err = s.PutState("locals/x", -1, strings.NewReader(minimalState))
	require.NoError(t, err)
	got, _ = s.StateJSON("locals/x")
	assert.Equal(t, minimalState, string(got))
	assert.NoFileExists(t, filepath.Join(s.TrailPath("locals/x"), ".pv", CommitMsgFile), "the old revision is replaced whole")
	assert.Empty(t, tmpLeft(t, s))
}

func TestPutStateFailuresChangeNothing(t *testing.T) {
	for name, tc := range map[string]struct {
		rev  string
		size int64
		body io.Reader
		want error
	}{
		"bad json":       {"locals/x", -1, strings.NewReader(`{"#spec":`), ErrBadState},
		"bad spec":       {"locals/x", -1, strings.NewReader(`{"#spec":"x"}`), ErrBadState},
		"too big":        {"locals/x", state.MaxSize + 1, strings.NewReader(minimalState), ErrTooBig},
		"too big stream": {"locals/x", -1, io.MultiReader(strings.NewReader(minimalState), io.LimitReader(zeros{}, state.MaxSize)), ErrTooBig},
		"short body":     {"locals/x", 100, strings.NewReader(minimalState), ErrReadState},
		"no space":       {"locals/x", 2 << 20, strings.NewReader(minimalState), ErrNoSpace},
		"read error":     {"locals/x", -1, errReader{}, nil},
		"bad name":       {"locals/../x", -1, strings.NewReader(minimalState), ErrBadRevision},
	} {
		t.Run(name, func(t *testing.T) {
			s := openStorage(t, t.TempDir())
			_, err := s.PutState("locals/x", -1, strings.NewReader(keptState))
			require.NoError(t, err)
			s.statfs = func(string) (uint64, uint64, error) { return 1 << 20, 1 << 21, nil }
			_, err = s.PutState(tc.rev, tc.size, tc.body)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			got, err := s.StateJSON("locals/x")
			require.NoError(t, err)
			assert.Equal(t, keptState, string(got), "the existing revision is untouched")
			assert.Empty(t, tmpLeft(t, s))
			revs, _ := s.Revisions()
			assert.Equal(t, []string{"locals/x"}, revs)
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestPutStateConcurrent(t *testing.T) {
	s := openStorage(t, t.TempDir())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			body := `{"#spec":"pantavisor-service-system@1"` + strings.Repeat(" ", i) + `}`
			_, err := s.PutState("locals/same", -1, strings.NewReader(body))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	_, err := s.StateJSON("locals/same")
	require.NoError(t, err)
	assert.Empty(t, tmpLeft(t, s))
}

func TestSteps(t *testing.T) {
	s := openStorage(t, t.TempDir())
	for _, rev := range []string{"1", "0", "locals/b", "locals/a"} {
		_, err := s.PutState(rev, -1, strings.NewReader(minimalState))
		require.NoError(t, err)
	}
	require.NoError(t, os.Remove(filepath.Join(s.TrailPath("1"), ".pv", ProgressFile)))
	require.NoError(t, s.SetCommitMsg("locals/a", []byte("msg")))
	require.NoError(t, s.SetCurrent("0"))
	require.NoError(t, os.MkdirAll(s.path("trails", ".new.9.x"), 0o755))
	mtime := time.Date(2026, 6, 8, 16, 18, 18, 0, time.UTC)
	require.NoError(t, os.Chtimes(s.TrailPath("locals/a"), mtime, mtime))

	steps, err := s.Steps()
	require.NoError(t, err)
	var names []string
	for _, st := range steps {
		names = append(names, st.Rev)
	}
	assert.Equal(t, []string{"locals/a", "locals/b", "0", "1"}, names)
	assert.Equal(t, "msg", string(steps[0].CommitMsg))
	assert.True(t, steps[0].ModTime.Equal(mtime))
	assert.Nil(t, steps[3].Progress)
	assert.Nil(t, steps[1].CommitMsg)
}

func TestGCKeepsByProgress(t *testing.T) {
	s := openStorage(t, t.TempDir())
	set := func(rev, status string) {
		_, err := s.PutState(rev, -1, strings.NewReader(minimalState))
		require.NoError(t, err)
		if status != "" {
			require.NoError(t, s.SetProgress(rev, progress.Make(status, "").Bytes()))
		}
	}
	set("0", progress.Done)
	set("1", progress.Done)
	set("2", progress.Testing)
	set("3", progress.Error)
	set("locals/new", "")
	set("locals/old", "")
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(s.TrailPath("locals/old"), old, old))
	require.NoError(t, os.Chtimes(filepath.Join(s.TrailPath("0"), ".pv", ProgressFile), old, old))
	require.NoError(t, s.SetCurrent("3"))
	orphan := []byte("orphan")
	_, err := s.InstallObject(sum(orphan), -1, bytes.NewReader(orphan))
	require.NoError(t, err)

	rep, err := s.GC(GCOptions{KeepUpdating: true, KeepLastDone: true,
		KeepNewSince: time.Now().Add(-time.Minute), KeepObjectsSince: time.Now().Add(-time.Minute)})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"0", "locals/old"}, rep.Revisions, "keeps last DONE (1), updating (2), current (3), new local")
	assert.True(t, s.HasObject(sum(orphan)), "recent object kept")

	rep, err = s.GC(GCOptions{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"1", "2", "locals/new"}, rep.Revisions)
	assert.False(t, s.HasObject(sum(orphan)))
}

var _ = errors.New
