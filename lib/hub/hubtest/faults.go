package hubtest

import (
	"net"
)

// connMode says what the listener does with a new connection.
type connMode int

const (
	connServe  connMode = iota
	connRefuse          // close at once, before TLS
	connHang            // hold open, never read or answer, until Release
)

// objectFault is what GET /local-s3/ does to one object's downloads.
type objectFault struct {
	dropAfter int64 // close the connection after this many body bytes; <0: never
	dropEvery bool  // drop on every download, not just the next one
	corrupt   bool  // flip every served byte
}

type faults struct {
	conn       connMode
	fail401    int
	objects    map[string]objectFault
	rate       int64 // bytes/s for object downloads; 0: unlimited
	dropStatus string
	dropLeft   int               // requests left to drop while dropStatus; <0: all
	answers    map[string]canned // by "METHOD /path"
}

// canned is a fixed answer set by Answer.
type canned struct {
	code int
	body []byte
}

// Answer makes the hub answer every request with this method and exact
// URL path (query ignored) with code and body (Content-Type
// application/json), before any token check or routing: malformed JSON, a
// lying object size, a 500 on a signed URL. A nil body removes the
// answer. Such requests are still recorded.
func (h *Hub) Answer(method, path string, code int, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.faults.answers == nil {
		h.faults.answers = map[string]canned{}
	}
	key := method + " " + path
	if body == nil {
		delete(h.faults.answers, key)
		return
	}
	h.faults.answers[key] = canned{code: code, body: append([]byte(nil), body...)}
}

// Fail401 makes the next n requests that need a token answer 401
// {"Error":"Not Authorized"} whatever their token, as when a token
// expired; the device must log in again.
func (h *Hub) Fail401(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults.fail401 = n
}

// DropObject makes GET /local-s3/ of object sha close the connection after
// writing k bytes of the response body (counted per response, from the
// first byte it sends, also for a Range request). With every false only
// the next download is cut (and the next download uses the fault up even
// if it is shorter than k); with every true each one is.
func (h *Hub) DropObject(sha string, k int64, every bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.objectFault(sha)
	f.dropAfter, f.dropEvery = k, every
	h.faults.objects[sha] = f
}

// CorruptObject makes downloads of object sha serve every byte inverted
// (on) or the true bytes again (off). The stored object is unchanged.
func (h *Hub) CorruptObject(sha string, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.objectFault(sha)
	f.corrupt = on
	h.faults.objects[sha] = f
}

// Throttle limits object downloads to about bytesPerSec each (0: no limit).
func (h *Hub) Throttle(bytesPerSec int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults.rate = bytesPerSec
}

// Refuse makes the hub close every new connection at once without a TLS
// handshake (on), as an unreachable hub, or serve again (off). Connections
// already open are not touched.
func (h *Hub) Refuse(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults.conn = connServe
	if on {
		h.faults.conn = connRefuse
	}
}

// Hang makes the hub accept new connections and never read from or answer
// them, until Release.
func (h *Hub) Hang() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults.conn = connHang
}

// Release ends Hang and Refuse and closes the connections Hang held.
func (h *Hub) Release() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.faults.conn = connServe
	h.mu.Unlock()
	for _, c := range held {
		c.Close()
	}
}

// DropWhileStatus makes the hub close the connection without answering
// the next n requests (n < 0: all) that arrive while some step's current
// progress status is status (e.g. "TESTING", for "Hub communication not
// stable"). The progress PUT that sets the status is answered. "" turns
// it off.
func (h *Hub) DropWhileStatus(status string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults.dropStatus, h.faults.dropLeft = status, n
}

// Refused returns how many connections Refuse closed and Hang held.
func (h *Hub) Refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

// ClearFaults turns every fault off (and releases held connections).
func (h *Hub) ClearFaults() {
	h.Release()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = faults{}
}

// objectFault returns sha's fault entry; h.mu is held.
func (h *Hub) objectFault(sha string) objectFault {
	if h.faults.objects == nil {
		h.faults.objects = map[string]objectFault{}
	}
	f, ok := h.faults.objects[sha]
	if !ok {
		f.dropAfter = -1
	}
	return f
}

// takeObjectFault returns the fault for this download of sha and uses up
// a once-only drop; h.mu is held.
func (h *Hub) takeObjectFault(sha string) objectFault {
	f, ok := h.faults.objects[sha]
	if !ok {
		return objectFault{dropAfter: -1}
	}
	if f.dropAfter >= 0 && !f.dropEvery {
		g := f
		g.dropAfter = -1
		h.faults.objects[sha] = g
	}
	return f
}

// take401 uses up one forced 401; h.mu is held.
func (h *Hub) take401() bool {
	if h.faults.fail401 > 0 {
		h.faults.fail401--
		return true
	}
	return false
}

// takeDrop says whether to drop this request by DropWhileStatus; h.mu is
// held.
func (h *Hub) takeDrop() bool {
	f := &h.faults
	if f.dropStatus == "" || f.dropLeft == 0 || !h.anyStepIn(f.dropStatus) {
		return false
	}
	if f.dropLeft > 0 {
		f.dropLeft--
	}
	return true
}

func (h *Hub) anyStepIn(status string) bool {
	for _, d := range h.st.devices {
		for _, s := range d.steps {
			if s.progress["status"] == status {
				return true
			}
		}
	}
	return false
}

// faultListener applies Refuse and Hang to new connections.
type faultListener struct {
	net.Listener
	hub *Hub
}

func (l *faultListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		h := l.hub
		h.mu.Lock()
		mode := h.faults.conn
		switch mode {
		case connRefuse:
			h.refused++
		case connHang:
			h.refused++
			h.held = append(h.held, c)
		}
		h.mu.Unlock()
		switch mode {
		case connServe:
			return c, nil
		case connRefuse:
			closeHard(c)
		}
	}
}
