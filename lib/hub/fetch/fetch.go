package fetch

import (
	"context"
	"errors"
	"io"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Errors callers branch on.
var (
	// ErrBadObject: the content does not hash to the object's id, or is
	// longer than announced. The partial is removed and nothing is
	// installed; the caller reports "Object validation went wrong" and
	// counts a retry.
	ErrBadObject error = &sentinel.Error{Text: "object validation went wrong"}
	// ErrIncomplete: the transfer ended before the object was complete
	// (connection dropped, no answer, body cut short). The partial is
	// kept, fsynced; fetching again continues from where it stopped.
	ErrIncomplete error = &sentinel.Error{Text: "object download incomplete"}
	// ErrStatus: the server answered with a status other than 200, 206
	// or 416 (a *StatusError says which). The partial is kept.
	ErrStatus error = &sentinel.Error{Text: "unexpected http status"}
	// ErrInvalid: a Want the hub described badly (an id that is not a
	// sha256, a negative size, no URL); refused before any file
	// operation or request.
	ErrInvalid error = &sentinel.Error{Text: "invalid object description"}
)

// StatusError is an answer with a status the fetcher does not take (a
// 401 for an expired signed URL, a 404, a 5xx); it is an ErrStatus.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return printf.Sprintf("unexpected http status %d", e.Code) }

// Is makes a StatusError an ErrStatus.
func (e *StatusError) Is(target error) bool { return target == ErrStatus }

// Response is a Getter's answer.
type Response struct {
	// Status is the HTTP status: 200 (the whole object from byte 0),
	// 206 (part of it from Start), 416 (range not satisfiable) or any
	// other (an error for the fetcher).
	Status int
	// Start is, for a 206, the first byte's offset as the Content-Range
	// header says ("bytes <start>-<end>/<total>"); 0 otherwise.
	Start int64
	// Total is the whole object's size: Content-Length for a 200, the
	// Content-Range total for a 206; -1 when the server does not say.
	Total int64
	// Body is the response body (nil when there is none); the fetcher
	// closes it. It must end with io.EOF exactly at the body's framed
	// end and with another error when the connection ends before.
	Body io.ReadCloser
}

// Getter is the transport the fetcher needs (lib/hub's HTTPS client in
// the device). Get requests url: with offset 0 a plain GET, with offset
// > 0 a GET with "Range: bytes=<offset>-". It returns a Response for any
// HTTP status, and an error only when there is no response (connection,
// TLS, timeout). When ctx is done, Get and reads from Body must stop
// with an error.
type Getter interface {
	Get(ctx context.Context, url string, offset int64) (Response, error)
}

// Want is one object to fetch, as the hub describes it.
type Want struct {
	SHA  string // the object id: its sha256, 64 lowercase hex digits; its only name on disk
	Size int64  // announced size in bytes
	URL  string // where to get it (the signed get URL); only requested
}

func (w Want) check() error {
	switch {
	case !state.IsSHA256(w.SHA):
		return printf.Errorf("%w: object id %q is not a sha256", ErrInvalid, w.SHA)
	case w.Size < 0:
		return printf.Errorf("%w: object %s has size %d", ErrInvalid, w.SHA, w.Size)
	case w.URL == "":
		return printf.Errorf("%w: object %s has no URL", ErrInvalid, w.SHA)
	}
	return nil
}

// Fetcher downloads objects into a storage. Both fields are required.
// One Fetcher may run several downloads at once, of distinct objects.
type Fetcher struct {
	Storage *storage.Storage
	Getter  Getter
}

// bufSize is the one buffer each download streams through.
const bufSize = 64 << 10

// syncEvery is how often (in bytes written) a download fsyncs its partial
// and checks that the storage still has room above its reserve.
const syncEvery = 8 << 20

// Fetch makes the object w stored. Steps: check w; done if the object is
// stored already; open its partial (storage.OpenPartial) and hash the
// bytes it holds; request the rest (see download.transfer for the
// answers it accepts) and stream it to the partial while hashing,
// fsyncing every syncEvery bytes and at the end; compare the hash with
// w.SHA; install the partial (storage.InstallPartial). A resumed partial
// whose final hash is wrong (a torn tail after a power cut) is fetched
// again from byte 0 once before that is ErrBadObject. p, when not nil,
// counts the bytes (see Progress).
func (f *Fetcher) Fetch(ctx context.Context, w Want, p *Progress) error {
	if err := w.check(); err != nil {
		return err
	}
	if f.Storage.HasObject(w.SHA) {
		p.addDone(w.Size)
		_ = f.Storage.RemovePartial(w.SHA) // left by a crash after install
		return nil
	}
	file, err := f.Storage.OpenPartial(w.SHA)
	if err != nil {
		return printf.Errorf("fetching object %s: %w", w.SHA, err)
	}
	d := &download{get: f.Getter, s: f.Storage, w: w, p: p, file: file, buf: make([]byte, bufSize)}
	err = d.run(ctx)
	if cerr := file.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if errors.Is(err, ErrBadObject) {
		if rerr := f.Storage.RemovePartial(w.SHA); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return printf.Errorf("fetching object %s: %w", w.SHA, err)
	}
	if _, err := f.Storage.InstallPartial(w.SHA); err != nil {
		return printf.Errorf("fetching object %s: %w", w.SHA, err)
	}
	return nil
}

// Need is how many bytes fetching wants still has to write: the sizes of
// the objects not stored yet, minus what their partials hold.
func (f *Fetcher) Need(wants []Want) uint64 {
	var need uint64
	for _, w := range dedupe(wants) {
		if w.Size <= 0 || f.Storage.HasObject(w.SHA) {
			continue
		}
		if have := f.Storage.PartialSize(w.SHA); have < w.Size {
			need += uint64(w.Size - have)
		}
	}
	return need
}

// CheckSpace fails when fetching wants does not fit in the storage above
// its reserve, with a *SpaceError.
func (f *Fetcher) CheckSpace(wants []Want) error {
	sp, err := f.Storage.Space()
	if err != nil {
		return err
	}
	return CheckSpace(f.Need(wants), sp)
}

// CheckSpace returns a *SpaceError when need bytes do not fit in sp's
// available space (free space above the reserve), nil otherwise.
func CheckSpace(need uint64, sp storage.Space) error {
	if need > sp.Available() {
		return &SpaceError{Required: need, Available: sp.Available()}
	}
	return nil
}

// SpaceError is a lack of room for the objects to fetch. Its text is
// upstream's WONTGO status message, "Space required <n> B, available
// <n> B", and it is a storage.ErrNoSpace (errors.Is).
type SpaceError struct {
	Required, Available uint64 // bytes
}

func (e *SpaceError) Error() string {
	return printf.Sprintf("Space required %d B, available %d B", e.Required, e.Available)
}

// Is makes a SpaceError a storage.ErrNoSpace.
func (e *SpaceError) Is(target error) bool { return target == storage.ErrNoSpace }
