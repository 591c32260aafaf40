package hub

import (
	"context"
	"errors"

	"pantavisor/lib/hub/fetch"
	"pantavisor/lib/hub/hubhttp"
)

// Getter adapts hubhttp.Client.GetURL to fetch.Getter: any HTTP status
// becomes a fetch.Response, only a missing answer is an error.
type Getter struct {
	Client *hubhttp.Client
	// Seen, when set, is called after each request with nil (an answer)
	// or the error of a request without one (ErrNoResponse), from the
	// goroutine that called Get.
	Seen func(error)
}

// Get requests url from offset (see fetch.Getter).
func (g Getter) Get(ctx context.Context, url string, offset int64) (fetch.Response, error) {
	d, err := g.Client.GetURL(ctx, url, offset)
	if g.Seen != nil {
		if errors.Is(err, hubhttp.ErrNoResponse) {
			g.Seen(err)
		} else if err == nil || errors.As(err, new(*hubhttp.StatusError)) {
			g.Seen(nil)
		}
	}
	var se *hubhttp.StatusError
	switch {
	case errors.As(err, &se):
		return fetch.Response{Status: se.Status}, nil
	case err != nil:
		return fetch.Response{}, err
	}
	return fetch.Response{Status: d.Status, Start: d.Offset, Total: d.Total, Body: d.Body}, nil
}
