package fetch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"pantavisor/lib/printf"
)

// DefaultMax is how many objects FetchAll downloads at once when not told
// (PH_UPDATER_TRANSFER_MAX_COUNT's default).
const DefaultMax = 5

// Progress counts FetchAll's bytes; the caller polls it (the DOWNLOADING
// heartbeat) from any goroutine while downloads run. The zero value is
// ready; use one per FetchAll. A nil *Progress counts nothing.
type Progress struct {
	total, done, received atomic.Int64
}

// Total is the sum of the sizes of the objects FetchAll was given.
func (p *Progress) Total() int64 { return p.total.Load() }

// Done is how many of those bytes are on disk: stored objects and the
// bytes of partials (it goes down when a partial starts over).
func (p *Progress) Done() int64 { return p.done.Load() }

// Received is how many bytes were read from the network.
func (p *Progress) Received() int64 { return p.received.Load() }

func (p *Progress) addDone(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

// addReceived counts n bytes read from the network and written.
func (p *Progress) addReceived(n int64) {
	if p != nil {
		p.received.Add(n)
		p.done.Add(n)
	}
}

// FetchAll fetches every object of wants (see Fetch), at most max at once
// (DefaultMax when max <= 0), and returns when all are done or ctx is.
// Every Want is checked before anything else happens: one the hub
// described badly (ErrInvalid) fails the call before any file operation
// or request. p (may be nil) counts the bytes. The error joins each failed
// object's error (errors.Is finds ErrBadObject, ErrIncomplete, ...); the
// objects that did not fail are stored.
func (f *Fetcher) FetchAll(ctx context.Context, wants []Want, max int, p *Progress) error {
	for _, w := range wants {
		if err := w.check(); err != nil {
			return err
		}
	}
	wants = dedupe(wants)
	if max <= 0 {
		max = DefaultMax
	}
	if p == nil {
		p = &Progress{}
	}
	for _, w := range wants {
		p.total.Add(w.Size)
	}
	errs := make([]error, len(wants))
	sem := make(chan struct{}, max)
	var wg sync.WaitGroup
	for i, w := range wants {
		if err := ctx.Err(); err != nil {
			errs[i] = printf.Errorf("fetching object %s: %w", w.SHA, err)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = printf.Errorf("fetching object %s: %w", w.SHA, ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f.Fetch(ctx, w, p)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// dedupe drops repeated objects (a state may name one object twice).
func dedupe(wants []Want) []Want {
	seen := make(map[string]bool, len(wants))
	out := make([]Want, 0, len(wants))
	for _, w := range wants {
		if !seen[w.SHA] {
			seen[w.SHA] = true
			out = append(out, w)
		}
	}
	return out
}
