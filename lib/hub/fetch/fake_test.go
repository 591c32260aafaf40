package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/storage"
)

// fakeHub is a Getter serving objects from memory, with faults: cuts
// (successive responses end with an error once the absolute offset
// reaches the next cut), a server that ignores Range, corrupt or
// overlong bodies, a forced status or total, slow reads. It records the
// offset of every request, the bytes it sent and the most requests in
// flight (from Get to Body.Close) at once.
type fakeHub struct {
	mu          sync.Mutex
	objects     map[string][]byte // URL → content
	cuts        []int64
	ignoreRange bool
	corrupt     bool
	extra       []byte
	rangeStatus int   // answered instead for requests with offset > 0
	total       int64 // reported as Total when not 0
	delay       time.Duration
	offsets     []int64
	inflight    int
	maxInflight int
	sent        atomic.Int64
}

func newFakeHub() *fakeHub { return &fakeHub{objects: map[string][]byte{}} }

// add serves content at a URL named after its sha and returns its Want.
func (h *fakeHub) add(content []byte) Want {
	w := Want{SHA: sum(content), Size: int64(len(content)), URL: "https://hub.test/local-s3/" + sum(content)}
	h.mu.Lock()
	h.objects[w.URL] = content
	h.mu.Unlock()
	return w
}

func (h *fakeHub) Get(ctx context.Context, url string, offset int64) (Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offsets = append(h.offsets, offset)
	c, ok := h.objects[url]
	switch {
	case !ok:
		return Response{Status: 404, Total: -1}, nil
	case offset > 0 && h.rangeStatus != 0:
		return Response{Status: h.rangeStatus, Total: -1}, nil
	case offset > int64(len(c)):
		return Response{Status: 416, Total: -1}, nil
	}
	data := append([]byte(nil), c...)
	if h.corrupt {
		data[len(data)/2] ^= 0xff
	}
	data = append(data, h.extra...)
	status, start := 206, offset
	if offset == 0 || h.ignoreRange {
		status, start = 200, 0
	}
	total := int64(len(c))
	if h.total != 0 {
		total = h.total
	}
	cut := int64(-1)
	if len(h.cuts) > 0 {
		cut, h.cuts = h.cuts[0], h.cuts[1:]
	}
	h.inflight++
	h.maxInflight = max(h.maxInflight, h.inflight)
	return Response{Status: status, Start: start, Total: total, Body: &fakeBody{h: h, ctx: ctx, data: data, pos: start, cut: cut}}, nil
}

func (h *fakeHub) requests() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int64(nil), h.offsets...)
}

type fakeBody struct {
	h      *fakeHub
	ctx    context.Context
	data   []byte
	pos    int64
	cut    int64
	closed bool
}

func (b *fakeBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.h.delay > 0 {
		time.Sleep(b.h.delay)
	}
	end := int64(len(b.data))
	if b.cut >= 0 {
		if b.pos >= b.cut {
			return 0, io.ErrUnexpectedEOF // the connection dropped
		}
		end = min(end, b.cut)
	}
	if b.pos >= end {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.pos:end])
	b.pos += int64(n)
	b.h.sent.Add(int64(n))
	return n, nil
}

func (b *fakeBody) Close() error {
	b.h.mu.Lock()
	defer b.h.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.h.inflight--
	}
	return nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// randomBytes is n bytes of a fixed pseudo-random sequence.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

func newStorage(t testing.TB, dir string) *storage.Storage {
	t.Helper()
	s, err := storage.Open(dir, storage.Options{})
	require.NoError(t, err)
	return s
}
