package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/storage"
)

// assertStored checks the object is stored with the content (hashing to
// its name) and no partial is left.
func assertStored(t *testing.T, s *storage.Storage, w Want) {
	t.Helper()
	got, err := storage.HashFile(s.ObjectPath(w.SHA))
	require.NoError(t, err)
	assert.Equal(t, w.SHA, got, "stored object hashes to its id")
	assert.NoFileExists(t, s.PartialPath(w.SHA), "partial removed after install")
}

// assertNothing checks nothing was installed and no partial is left.
func assertNothing(t *testing.T, s *storage.Storage, w Want) {
	t.Helper()
	objs, err := s.Objects()
	require.NoError(t, err)
	assert.Empty(t, objs, "nothing installed")
	assert.NoFileExists(t, s.PartialPath(w.SHA), "partial deleted")
}

// writePartial leaves data as the partial of w, as an interrupted
// download would.
func writePartial(t *testing.T, s *storage.Storage, w Want, data []byte) {
	t.Helper()
	f, err := s.OpenPartial(w.SHA)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestFetch(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(300<<10, 1))
	f := &Fetcher{Storage: s, Getter: hub}
	var p Progress
	require.NoError(t, f.Fetch(context.Background(), w, &p))
	assertStored(t, s, w)
	assert.Equal(t, []int64{0}, hub.requests())
	assert.Equal(t, w.Size, p.Done())
	assert.Equal(t, w.Size, p.Received())

	require.NoError(t, f.Fetch(context.Background(), w, nil), "stored already")
	assert.Len(t, hub.requests(), 1, "a stored object is not requested again")

	empty := hub.add(nil)
	require.NoError(t, f.Fetch(context.Background(), empty, nil))
	assertStored(t, s, empty)
}

// TestResumeAfterCut: the connection dropped at 10 %, 50 % and 90 % of an
// 8 MiB object over real HTTP: the fetch fails as ErrIncomplete with the
// partial kept, the next one continues with a Range request, and the
// server sends the object about once in all.
func TestResumeAfterCut(t *testing.T) {
	content := randomBytes(8<<20, 2)
	size := int64(len(content))
	for _, pct := range []int64{10, 50, 90} {
		t.Run(fmt.Sprintf("%d%%", pct), func(t *testing.T) {
			s := newStorage(t, t.TempDir())
			hub := newHTTPHub(t, content, size*pct/100)
			f := &Fetcher{Storage: s, Getter: httpGetter{hub.srv.Client()}}
			w := hub.want()
			err := f.Fetch(context.Background(), w, nil)
			require.ErrorIs(t, err, ErrIncomplete)
			have := s.PartialSize(w.SHA)
			assert.Positive(t, have, "the partial survives the dropped connection")
			assert.LessOrEqual(t, have, size*pct/100)
			require.NoError(t, f.Fetch(context.Background(), w, nil))
			assertStored(t, s, w)
			assert.Equal(t, []int64{0, have}, hub.requests(), "resumed with a Range from the partial's size")
			assert.LessOrEqual(t, float64(hub.sent.Load()), 1.1*float64(size), "bytes sent")
		})
	}
}

// TestResume50MB: a 50 MB object cut at 10 %, 50 % and 90 % in turn, over
// real HTTP: three resumptions, the object sent about once.
func TestResume50MB(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB transfer")
	}
	content := randomBytes(50_000_000, 3)
	size := int64(len(content))
	hub := newHTTPHub(t, content, size/10, size/2, size*9/10)
	s := newStorage(t, t.TempDir())
	f := &Fetcher{Storage: s, Getter: httpGetter{hub.srv.Client()}}
	w := hub.want()
	for i := 0; i < 3; i++ {
		require.ErrorIs(t, f.Fetch(context.Background(), w, nil), ErrIncomplete, "cut %d", i)
	}
	require.NoError(t, f.Fetch(context.Background(), w, nil))
	assertStored(t, s, w)
	assert.Len(t, hub.requests(), 4)
	assert.LessOrEqual(t, float64(hub.sent.Load()), 1.1*float64(size))
}

// TestResumeAfterReboot: a new storage and fetcher over the same
// directory (a reboot mid-download) continue from the partial's size.
func TestResumeAfterReboot(t *testing.T) {
	dir := t.TempDir()
	hub := newFakeHub()
	w := hub.add(randomBytes(1<<20, 4))
	hub.cuts = []int64{w.Size / 2}
	err := (&Fetcher{Storage: newStorage(t, dir), Getter: hub}).Fetch(context.Background(), w, nil)
	require.ErrorIs(t, err, ErrIncomplete)

	s := newStorage(t, dir) // reboot: Open runs its leftover cleanup
	require.Equal(t, w.Size/2, s.PartialSize(w.SHA), "the partial survives Open")
	var p Progress
	require.NoError(t, (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, &p))
	assertStored(t, s, w)
	assert.Equal(t, []int64{0, w.Size / 2}, hub.requests())
	assert.Equal(t, w.Size-w.Size/2, p.Received(), "only the rest received")
	assert.Equal(t, w.Size, p.Done())
	assert.Equal(t, w.Size, hub.sent.Load())
}

// TestCorruptObject: bytes that do not hash to the id are ErrBadObject,
// with the partial deleted and nothing installed.
func TestCorruptObject(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(100<<10, 5))
	hub.corrupt = true
	err := (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, nil)
	require.ErrorIs(t, err, ErrBadObject)
	assert.ErrorContains(t, err, "expected "+w.SHA+", got ")
	assertNothing(t, s, w)
	assert.Equal(t, []int64{0}, hub.requests(), "a fresh download is not repeated")
}

// TestTooLarge: a body longer than announced is cut there and refused.
func TestTooLarge(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(100<<10, 6))
	hub.extra = []byte("more")
	err := (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, nil)
	require.ErrorIs(t, err, ErrBadObject)
	assertNothing(t, s, w)
}

// TestServerIgnoresRange: a 200 to a Range request restarts the partial
// with the whole body.
func TestServerIgnoresRange(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(1<<20, 7))
	writePartial(t, s, w, hub.objects[w.URL][:w.Size/2])
	hub.ignoreRange = true
	var p Progress
	require.NoError(t, (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, &p))
	assertStored(t, s, w)
	assert.Equal(t, []int64{w.Size / 2}, hub.requests())
	assert.Equal(t, w.Size, p.Done(), "the partial's bytes are not counted twice")
}

// TestRestartOnce: a 416 or a total that disagrees with the announced
// size starts over from byte 0 once; a total that disagrees again is
// ErrBadObject.
func TestRestartOnce(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(64<<10, 8))
	writePartial(t, s, w, hub.objects[w.URL][:1000])
	hub.rangeStatus = 416
	require.NoError(t, (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, nil))
	assertStored(t, s, w)
	assert.Equal(t, []int64{1000, 0}, hub.requests())

	s = newStorage(t, t.TempDir())
	hub = newFakeHub()
	w = hub.add(randomBytes(64<<10, 9))
	hub.total = w.Size + 1
	err := (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, nil)
	require.ErrorIs(t, err, ErrBadObject)
	assert.Equal(t, []int64{0, 0}, hub.requests())
	assertNothing(t, s, w)
}

// TestTornPartial: a partial whose tail is garbage after a power cut is
// caught by the final hash and fetched again from byte 0: garbage within
// the size (resumed, then refetched), past the size (truncated at once),
// or a full-size partial (no request until the refetch).
func TestTornPartial(t *testing.T) {
	content := randomBytes(256<<10, 10)
	half := int64(len(content) / 2)
	torn := append(append([]byte(nil), content[:half-4096]...), make([]byte, 4096)...)
	long := append(append([]byte(nil), content...), "garbage"...)
	full := append([]byte(nil), content...)
	full[10] ^= 1
	for _, tc := range []struct {
		name    string
		partial []byte
		want    []int64
	}{
		{"zeroed tail", torn, []int64{half, 0}},
		{"appended garbage", long, []int64{0}},
		{"complete but wrong", full, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStorage(t, t.TempDir())
			hub := newFakeHub()
			w := hub.add(content)
			writePartial(t, s, w, tc.partial)
			require.NoError(t, (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, nil))
			assertStored(t, s, w)
			assert.Equal(t, tc.want, hub.requests())
		})
	}
}

// TestTransportFailures: no response, a status error and a bad status
// keep the partial for a later try.
func TestTransportFailures(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(64<<10, 11))
	writePartial(t, s, w, hub.objects[w.URL][:100])
	hub.rangeStatus = 503
	err := (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), w, nil)
	require.ErrorIs(t, err, ErrStatus)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.Code)
	assert.EqualValues(t, 100, s.PartialSize(w.SHA))

	err = (&Fetcher{Storage: s, Getter: failGetter{}}).Fetch(context.Background(), w, nil)
	require.ErrorIs(t, err, ErrIncomplete)
	assert.ErrorIs(t, err, errRefused)
	assert.EqualValues(t, 100, s.PartialSize(w.SHA))
}

var errRefused = errors.New("connection refused")

type failGetter struct{}

func (failGetter) Get(context.Context, string, int64) (Response, error) {
	return Response{}, errRefused
}

// TestInvalidWant: an id that is not a sha256 is refused before any file
// operation or request, for the whole FetchAll.
func TestInvalidWant(t *testing.T) {
	dir := t.TempDir()
	s := newStorage(t, dir)
	hub := newFakeHub()
	good := hub.add([]byte("good"))
	for _, bad := range []Want{
		{SHA: "../x", Size: 1, URL: "u"},
		{SHA: "../../../../etc/passwd", Size: 1, URL: "u"},
		{SHA: good.SHA[:63] + "A", Size: 1, URL: "u"},
		{SHA: good.SHA, Size: -1, URL: "u"},
		{SHA: good.SHA, Size: 4},
	} {
		err := (&Fetcher{Storage: s, Getter: hub}).FetchAll(context.Background(), []Want{good, bad}, 2, nil)
		require.ErrorIs(t, err, ErrInvalid, "%+v", bad)
		require.ErrorIs(t, (&Fetcher{Storage: s, Getter: hub}).Fetch(context.Background(), bad, nil), ErrInvalid)
	}
	assert.Empty(t, hub.requests())
	assert.NoDirExists(t, filepath.Join(dir, "partial"))
	assert.NoFileExists(t, filepath.Join(dir, "x"))
	assert.NoFileExists(t, filepath.Join(filepath.Dir(dir), "x"))
	objs, err := s.Objects()
	require.NoError(t, err)
	assert.Empty(t, objs)
}

// TestFetchAllConcurrency: never more than max downloads at once, max
// reached; every object stored; Progress adds up; errors are per object.
func TestFetchAllConcurrency(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	hub.delay = 2 * time.Millisecond
	var wants []Want
	var total int64
	for i := range 12 {
		w := hub.add(randomBytes(256<<10, uint64(100+i)))
		wants = append(wants, w)
		total += w.Size
	}
	var p Progress
	require.NoError(t, (&Fetcher{Storage: s, Getter: hub}).FetchAll(context.Background(), append(wants, wants[0]), 3, &p))
	assert.Equal(t, 3, hub.maxInflight)
	for _, w := range wants {
		assertStored(t, s, w)
	}
	assert.Equal(t, total, p.Total(), "a repeated object counted once")
	assert.Equal(t, total, p.Done())
	assert.Equal(t, total, p.Received())

	bad := hub.add(randomBytes(1000, 200))
	hub.corrupt = true
	err := (&Fetcher{Storage: s, Getter: hub}).FetchAll(context.Background(), append(wants, bad), 0, nil)
	require.ErrorIs(t, err, ErrBadObject)
	assert.ErrorContains(t, err, bad.SHA)
	assert.Equal(t, 3, hub.maxInflight, "stored objects are not requested")
}

// TestSpace: Need counts what is not stored minus partial bytes, and the
// error is upstream's exact message.
func TestSpace(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	stored, part, missing := hub.add([]byte("stored")), hub.add(make([]byte, 10)), hub.add([]byte("12345"))
	_, err := s.InstallObject(stored.SHA, stored.Size, strings.NewReader("stored"))
	require.NoError(t, err)
	writePartial(t, s, part, make([]byte, 3))
	f := &Fetcher{Storage: s, Getter: hub}
	assert.EqualValues(t, 7+5, f.Need([]Want{stored, part, missing, missing}))

	sp := storage.Space{Total: 10000, Free: 1100, Reserved: 500}
	err = CheckSpace(601, sp)
	var se *SpaceError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, SpaceError{Required: 601, Available: 600}, *se)
	assert.Equal(t, "Space required 601 B, available 600 B", err.Error())
	assert.ErrorIs(t, err, storage.ErrNoSpace)
	assert.NoError(t, CheckSpace(600, sp))

	huge := Want{SHA: missing.SHA, Size: 1 << 60, URL: missing.URL}
	err = f.CheckSpace([]Want{huge})
	require.ErrorIs(t, err, storage.ErrNoSpace)
	assert.Regexp(t, `^Space required 1152921504606846976 B, available \d+ B$`, err.Error())
	assert.NoError(t, f.CheckSpace([]Want{part}))
}

// TestCancel: a done context stops a download between reads, keeping
// the partial.
func TestCancel(t *testing.T) {
	s := newStorage(t, t.TempDir())
	hub := newFakeHub()
	w := hub.add(randomBytes(1<<20, 12))
	ctx, cancel := context.WithCancel(context.Background())
	g := cancelAfter{Getter: hub, cancel: cancel}
	err := (&Fetcher{Storage: s, Getter: g}).Fetch(ctx, w, nil)
	require.ErrorIs(t, err, ErrIncomplete)
	require.ErrorIs(t, err, context.Canceled)
	assert.Positive(t, s.PartialSize(w.SHA))
	assert.Less(t, s.PartialSize(w.SHA), w.Size)
}

// cancelAfter cancels the context after the first read of the body
// (its body, unlike fakeBody, ignores the context).
type cancelAfter struct {
	Getter
	cancel context.CancelFunc
}

func (g cancelAfter) Get(ctx context.Context, url string, offset int64) (Response, error) {
	r, err := g.Getter.Get(context.Background(), url, offset)
	r.Body = &cancelBody{ReadCloser: r.Body, cancel: g.cancel}
	return r, err
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.cancel()
	return n, err
}
