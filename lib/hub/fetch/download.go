package fetch

import (
	"context"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"

	"pantavisor/lib/digest"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
	"pantavisor/lib/storage"
)

// errRestart: the answer does not continue the partial (a 416, a range
// or total that disagrees with what was asked or announced); the
// download starts over from byte 0, once.
var errRestart error = &sentinel.Error{Text: "answer does not continue the partial"}

// errTooLarge: the body goes on past the announced size.
var errTooLarge error = &sentinel.Error{Text: "object larger than announced"}

// download is one object's transfer into its open partial.
type download struct {
	get  Getter
	s    *storage.Storage
	w    Want
	p    *Progress
	file *os.File
	buf  []byte
	h    hash.Hash
	n    int64 // bytes in the partial, all hashed into h
}

// run brings the partial to w.Size bytes hashing to w.SHA. Steps: resume
// (hash what the partial holds); transfer the rest; on errRestart, or a
// wrong final hash of a resumed partial, truncate and go again from byte
// 0 (once); a wrong hash then, a second errRestart or errTooLarge is
// ErrBadObject.
func (d *download) run(ctx context.Context) error {
	resumed, err := d.resume()
	if err != nil {
		return err
	}
	restarted := false
	for {
		err := d.transfer(ctx)
		switch {
		case errors.Is(err, errTooLarge), errors.Is(err, errRestart) && restarted:
			return printf.Errorf("%w: %w", ErrBadObject, err)
		case errors.Is(err, errRestart):
			restarted = true
			if err := d.truncate(); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		got := hex.EncodeToString(d.h.Sum(nil))
		if got == d.w.SHA {
			return nil
		}
		if !resumed || restarted {
			return printf.Errorf("%w: expected %s, got %s", ErrBadObject, d.w.SHA, got)
		}
		restarted = true // a torn partial: fetch it all again
		if err := d.truncate(); err != nil {
			return err
		}
	}
}

// resume hashes the bytes the partial holds (truncating one longer than
// the object) and reports whether there were any.
func (d *download) resume() (bool, error) {
	d.h = digest.New()
	fi, err := d.file.Stat()
	if err != nil {
		return false, err
	}
	if fi.Size() > d.w.Size {
		return false, d.truncate()
	}
	n, err := io.CopyBuffer(d.h, io.NewSectionReader(d.file, 0, fi.Size()), d.buf)
	if err != nil {
		return false, printf.Errorf("reading partial: %w", err)
	}
	d.n = n
	d.p.addDone(n)
	return n > 0, nil
}

// truncate empties the partial (durably) and the hash.
func (d *download) truncate() error {
	if err := d.file.Truncate(0); err != nil {
		return printf.Errorf("truncating partial: %w", err)
	}
	if err := d.file.Sync(); err != nil {
		return printf.Errorf("syncing partial: %w", err)
	}
	d.h.Reset()
	d.p.addDone(-d.n)
	d.n = 0
	return nil
}

// transfer requests the bytes from d.n on and streams them. It accepts a
// 206 starting at d.n (appended), a 200 (the server ignored the range:
// the partial is truncated and the body taken whole), each only with a
// total that is unknown or w.Size; a 416 or another range or total is
// errRestart, any other status ErrStatus.
func (d *download) transfer(ctx context.Context) error {
	if d.n == d.w.Size {
		return nil
	}
	resp, err := d.get.Get(ctx, d.w.URL, d.n)
	if err != nil {
		return printf.Errorf("%w at %d of %d bytes: %w", ErrIncomplete, d.n, d.w.Size, err)
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	totalOK := resp.Total < 0 || resp.Total == d.w.Size
	switch {
	case resp.Status == 206 && resp.Start == d.n && totalOK:
	case resp.Status == 200 && totalOK:
		if d.n > 0 {
			if err := d.truncate(); err != nil {
				return err
			}
		}
	case resp.Status == 206, resp.Status == 200:
		return printf.Errorf("%w: status %d from byte %d of %d, asked from byte %d of %d", errRestart, resp.Status, resp.Start, resp.Total, d.n, d.w.Size)
	case resp.Status == 416:
		return printf.Errorf("%w: status 416 for bytes from %d", errRestart, d.n)
	default:
		return &StatusError{Code: resp.Status}
	}
	if resp.Body == nil {
		return printf.Errorf("%w at %d of %d bytes: no body", ErrIncomplete, d.n, d.w.Size)
	}
	return d.stream(ctx, resp.Body)
}

// stream appends body to the partial while hashing, up to w.Size bytes,
// fsyncing every syncEvery bytes and before it returns; a body that ends
// early (or ctx done) is ErrIncomplete, one that goes on errTooLarge.
func (d *download) stream(ctx context.Context, body io.Reader) error {
	var unsynced int64
	var rerr error
	for d.n < d.w.Size && rerr == nil {
		if rerr = ctx.Err(); rerr != nil {
			break
		}
		var m int
		m, rerr = body.Read(d.buf[:min(int64(len(d.buf)), d.w.Size-d.n)])
		if m == 0 {
			continue
		}
		if _, err := d.file.WriteAt(d.buf[:m], d.n); err != nil {
			return errors.Join(printf.Errorf("writing partial: %w", err), d.sync())
		}
		d.h.Write(d.buf[:m])
		d.n += int64(m)
		d.p.addReceived(int64(m))
		if unsynced += int64(m); unsynced >= syncEvery {
			unsynced = 0
			if err := d.sync(); err != nil {
				return err
			}
			if err := d.s.CheckSpace(1); err != nil {
				return err
			}
		}
	}
	if err := d.sync(); err != nil {
		return err
	}
	if d.n < d.w.Size {
		if rerr == nil || rerr == io.EOF {
			rerr = io.ErrUnexpectedEOF
		}
		return printf.Errorf("%w at %d of %d bytes: %w", ErrIncomplete, d.n, d.w.Size, rerr)
	}
	if rerr == nil {
		if m, _ := body.Read(d.buf[:1]); m > 0 {
			return printf.Errorf("%w: more than %d bytes", errTooLarge, d.w.Size)
		}
	}
	return nil
}

func (d *download) sync() error {
	if err := d.file.Sync(); err != nil {
		return printf.Errorf("syncing partial: %w", err)
	}
	return nil
}
