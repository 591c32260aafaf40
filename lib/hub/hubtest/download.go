package hubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// download serves GET /local-s3/<opaque>: the object's bytes, from N on
// for "Range: bytes=N-" (206 with Content-Range), with the object's faults
// and the throttle applied, counting the bytes written.
func (h *Hub) download(w http.ResponseWriter, r *http.Request, opaque string) {
	h.mu.Lock()
	u, ok := h.st.urls[opaque]
	o := h.st.objects[u.sha]
	if !ok || u.put || o == nil || o.data == nil {
		h.mu.Unlock()
		restError(w, http.StatusForbidden, "bad signed url")
		return
	}
	data, fault, rate := o.data, h.takeObjectFault(u.sha), h.faults.rate
	h.mu.Unlock()

	size := int64(len(data))
	start, ranged := parseRange(r.Header.Get("Range"))
	if ranged && start >= size && size > 0 {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		restError(w, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size-start, 10))
	if ranged {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, size-1, size))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	h.stream(w, o, data[start:], fault, rate)
}

// stream writes body in chunks (a tenth of the rate every 100 ms when
// throttled), inverting bytes if corrupt, and cuts the connection after
// fault.dropAfter bytes.
func (h *Hub) stream(w http.ResponseWriter, o *object, body []byte, fault objectFault, rate int64) {
	chunk := int64(32 << 10)
	if rate > 0 {
		chunk = max(rate/10, 1)
	}
	var sent int64
	for sent < int64(len(body)) {
		n := min(chunk, int64(len(body))-sent)
		drop := fault.dropAfter >= 0 && sent+n >= fault.dropAfter
		if drop {
			n = fault.dropAfter - sent
		}
		p := body[sent : sent+n]
		if fault.corrupt {
			p = inverted(p)
		}
		// Counted before the write, so a client that has the bytes
		// always sees them counted; a short write is taken back.
		h.addServed(o, int64(len(p)))
		m, err := w.Write(p)
		sent += int64(m)
		h.addServed(o, int64(m-len(p)))
		if drop {
			dropConn(w)
			return
		}
		if err != nil {
			return
		}
		if rate > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func inverted(p []byte) []byte {
	q := make([]byte, len(p))
	for i, b := range p {
		q[i] = ^b
	}
	return q
}

func (h *Hub) addServed(o *object, n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o.served += n
}
