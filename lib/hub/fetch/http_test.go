package fetch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// httpGetter adapts net/http to Getter, as lib/hub's client does for the
// device: Range from offset, Start and Total from Content-Range.
type httpGetter struct{ client *http.Client }

func (g httpGetter) Get(ctx context.Context, url string, offset int64) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return Response{}, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return Response{}, err
	}
	r := Response{Status: resp.StatusCode, Total: resp.ContentLength, Body: resp.Body}
	if resp.StatusCode == http.StatusPartialContent {
		r.Total = -1
		var end int64
		var total string
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%s", &r.Start, &end, &total); err != nil {
			resp.Body.Close()
			return Response{}, fmt.Errorf("bad Content-Range: %w", err)
		}
		if n, err := strconv.ParseInt(total, 10, 64); err == nil {
			r.Total = n
		}
	}
	return r, nil
}

// httpHub serves one object over real HTTP with Range support; each
// response in turn drops its connection once the absolute offset reaches
// the next cut. sent counts body bytes written.
type httpHub struct {
	content []byte
	mu      sync.Mutex
	cuts    []int64
	starts  []int64 // the first byte asked by each request
	sent    atomic.Int64
	srv     *httptest.Server
}

func newHTTPHub(t *testing.T, content []byte, cuts ...int64) *httpHub {
	h := &httpHub{content: content, cuts: cuts}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *httpHub) want() Want {
	return Want{SHA: sum(h.content), Size: int64(len(h.content)), URL: h.srv.URL + "/local-s3/x"}
}

func (h *httpHub) requests() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int64(nil), h.starts...)
}

func (h *httpHub) serve(w http.ResponseWriter, r *http.Request) {
	size := int64(len(h.content))
	rg := r.Header.Get("Range")
	var start int64
	if rg != "" {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64)
		if err != nil || n < 0 || n >= size {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = n
	}
	h.mu.Lock()
	cut := int64(-1)
	if len(h.cuts) > 0 {
		cut, h.cuts = h.cuts[0], h.cuts[1:]
	}
	h.starts = append(h.starts, start)
	h.mu.Unlock()
	w.Header().Set("Content-Length", strconv.FormatInt(size-start, 10))
	if rg != "" {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, size-1, size))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	end := size
	if cut >= 0 && cut < end {
		end = cut
	}
	for pos := start; pos < end; {
		n, err := w.Write(h.content[pos:min(end, pos+32<<10)])
		h.sent.Add(int64(n))
		pos += int64(n)
		if err != nil {
			return
		}
	}
	if end < size {
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
}
