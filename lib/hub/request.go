package hub

import (
	"context"
	"errors"
	"io"

	"pantavisor/lib/http1"
	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/hub/proto"
)

// client is the transport with the session's token (tok false: none).
func (a *Agent) client(tok bool) *hubhttp.Client {
	c := a.o.Client
	c.Token = ""
	if tok {
		c.Token = a.token
	}
	return &c
}

// request sends a JSON request (body nil: none) with the token when tok,
// and returns the answer's status and body (at most hubhttp.MaxBody).
// Any answer counts as online, none as a miss (see seen); a 401 drops the
// token, so the next step logs in again. The error is nil only for a
// status in ok (200 when empty); a refused answer's hub error is logged.
func (a *Agent) request(ctx context.Context, tok bool, method, path string, body []byte, h http1.Header, ok ...int) (int, []byte, error) {
	r, err := a.client(tok).Do(ctx, method, path, body, h)
	return a.answer(method+" "+path, r, err, ok)
}

// send is request with a streamed body of length bytes (an object upload).
func (a *Agent) send(ctx context.Context, method, path string, body io.Reader, length int64, ok ...int) (int, []byte, error) {
	r, err := a.client(false).Send(ctx, method, path, nil, body, length)
	return a.answer(method+" object", r, err, ok)
}

// answer reads r, the answer to op (err: none), as request describes.
func (a *Agent) answer(op string, r *hubhttp.Response, err error, ok []int) (int, []byte, error) {
	a.seen(err)
	if err != nil {
		return 0, nil, err
	}
	data, err := hubhttp.ReadBody(r, hubhttp.MaxBody)
	if err != nil { // answered, then cut: still online
		return r.Status, nil, err
	}
	if len(ok) == 0 {
		ok = []int{200}
	}
	for _, s := range ok {
		if r.Status == s {
			return r.Status, data, nil
		}
	}
	serr := &hubhttp.StatusError{Op: op, Status: r.Status}
	if errors.Is(serr, hubhttp.ErrUnauthorized) && a.token != "" {
		a.token = ""
		a.logf("hub: %s: not authorized, logging in again", op)
		return r.Status, data, serr
	}
	if e := proto.ParseError(data); e != (proto.HubError{}) {
		a.logf("hub: %v: %s", serr, e)
	}
	return r.Status, data, serr
}

// seen updates the online flag after a request: any answer makes the
// device online; more than OnlineThreshold requests in a row without one
// make it offline (upstream's PH_ONLINE_REQUEST_THRESHOLD). Every request
// without an answer counts in State.Missed.
func (a *Agent) seen(err error) {
	switch {
	case err == nil:
		a.online, a.misses = true, 0
	case errors.Is(err, hubhttp.ErrNoResponse):
		a.misses++
		a.missed++
		if a.misses > a.o.OnlineThreshold {
			a.online = false
		}
	}
}
