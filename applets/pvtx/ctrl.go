package pvtx

import (
	"bytes"
	"io"
	"os"
	"strings"
	"time"

	"pantavisor/lib/http1"
	"pantavisor/lib/printf"
	"pantavisor/lib/pvtx"
	"pantavisor/lib/state"
)

// Request timeouts: upstream waits up to 10 s for each poll; an object
// upload gets as long as pv-ctl's.
const (
	requestTimeout = 60 * time.Second
	objectTimeout  = 14400 * time.Second
)

// defaultSockets are where pvtx looks for pv-ctrl, in upstream's order.
var defaultSockets = [...]string{"/run/pantavisor/pv/pv-ctrl", "/pv/pv-ctrl", "/pantavisor/pv-ctrl"}

// ctrl is pvtx.Ctrl over the pv-ctrl socket: one connection per request.
// The socket is looked up at the first request, so commands that do not
// talk to pv-ctrl work without it.
//
// Deviation: upstream retries a failed connect 5 times, 2 s apart; this
// fails at once.
type ctrl struct {
	sockets []string
}

// socket returns the first candidate that exists.
func (c *ctrl) socket() (string, error) {
	for _, s := range c.sockets {
		if _, err := os.Stat(s); err == nil {
			return s, nil
		}
	}
	return "", printf.Errorf("pv-ctrl socket not found (tried %s)", strings.Join(c.sockets, ", "))
}

// do sends one request and returns the body of a 2xx reply; any other
// reply is a *pvtx.HTTPError.
func (c *ctrl) do(method, target, ctype string, body io.Reader, n int64, timeout time.Duration) ([]byte, error) {
	sock, err := c.socket()
	if err != nil {
		return nil, err
	}
	var h http1.Header
	if ctype != "" {
		h.Add("Content-Type", ctype)
	}
	cl := http1.Client{Socket: sock, Timeout: timeout}
	resp, err := cl.Do(method, target, h, body, n)
	if err != nil {
		return nil, printf.Errorf("pv-ctrl %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, state.MaxSize+1))
	if err != nil {
		return nil, printf.Errorf("pv-ctrl %s %s: reading the reply: %w", method, target, err)
	}
	if resp.Status < 200 || resp.Status > 299 {
		return nil, &pvtx.HTTPError{Method: method, Target: target, Status: resp.Status, Reason: resp.Reason, Body: string(data)}
	}
	if len(data) > state.MaxSize {
		return nil, printf.Errorf("pv-ctrl %s %s: reply larger than %d bytes", method, target, state.MaxSize)
	}
	return data, nil
}

func (c *ctrl) GetStep(rev string) ([]byte, error) {
	return c.do("GET", "/steps/"+rev, "", nil, 0, requestTimeout)
}

func (c *ctrl) PutObject(sha string, size int64, body io.Reader) error {
	_, err := c.do("PUT", "/objects/"+sha, "application/octet-stream", body, size, objectTimeout)
	return err
}

func (c *ctrl) PutStep(rev string, st []byte) error {
	_, err := c.do("PUT", "/steps/"+rev, "application/json", bytes.NewReader(st), int64(len(st)), requestTimeout)
	return err
}
