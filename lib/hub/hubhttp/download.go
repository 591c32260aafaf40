package hubhttp

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"strings"

	"pantavisor/lib/http1"
	"pantavisor/lib/printf"
)

// Download is an object download's response: 200 (the whole object) or
// 206 (from the requested offset).
type Download struct {
	Status int
	// Offset is where Body starts in the object: the requested offset
	// for a 206, 0 for a 200.
	Offset int64
	// Restart is true when an offset was asked for and the server sent
	// the whole object (200, Range ignored): the caller must truncate
	// its partial file and write Body from the start.
	Restart bool
	Length  int64 // bytes in Body; -1 unknown (chunked or until close)
	Total   int64 // the object's size (Content-Length of a 200, the total of a 206's Content-Range); -1 unknown
	Body    io.ReadCloser
}

// GetURL downloads an object from a signed URL as upstream does: the
// scheme must be https (else ErrHTTPSMandatory); the port is the URL's
// or 443; only the path is sent, the query string is dropped; no
// Authorization header. With offset > 0 it asks for "Range:
// bytes=<offset>-". Other statuses than 200 and 206 are a *StatusError.
// Errors name the request "GET object" and the host, never the URL
// (whose path holds the signature). The caller closes Body.
func (c *Client) GetURL(ctx context.Context, signedURL string, offset int64) (*Download, error) {
	d, path, err := c.forURL(signedURL)
	if err != nil {
		return nil, err
	}
	var h http1.Header
	if offset > 0 {
		h.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	r, err := d.roundTrip(ctx, "GET object", "GET", path, h, nil, 0)
	if err != nil {
		return nil, err
	}
	if err := r.Expect(200, 206); err != nil {
		return nil, err
	}
	dl := &Download{Status: r.Status, Length: r.ContentLength, Total: r.ContentLength, Body: r.Body}
	if r.Status == 200 {
		dl.Restart = offset > 0
		return dl, nil
	}
	first, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok || first != offset {
		r.Body.Close()
		return nil, printf.Errorf("hubhttp: GET object: %q for offset %d: %w", r.Header.Get("Content-Range"), offset, ErrBadRange)
	}
	dl.Offset, dl.Total = first, total
	return dl, nil
}

// forURL returns a copy of c for the URL's host and port, without the
// token, and the path to send.
func (c *Client) forURL(raw string) (*Client, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", printf.Errorf("hubhttp: signed url: %w", ErrBadURL) // url's error quotes the URL
	}
	if u.Scheme != "https" {
		return nil, "", ErrHTTPSMandatory
	}
	if u.Hostname() == "" {
		return nil, "", printf.Errorf("hubhttp: signed url without host: %w", ErrBadURL)
	}
	d := *c
	d.Host, d.Port, d.Token = u.Hostname(), DefaultPort, ""
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, "", printf.Errorf("hubhttp: signed url port %q: %w", p, ErrBadURL)
		}
		d.Port = n
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &d, path, nil
}

// parseContentRange parses "bytes <first>-<last>/<total>" ("*": total
// unknown, -1) and checks first <= last < total.
func parseContentRange(v string) (first, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	a, b, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	first, ok1 := digits(a)
	last, ok2 := digits(b)
	total = -1
	ok3 := tot == "*"
	if !ok3 {
		total, ok3 = digits(tot)
		ok3 = ok3 && last < total
	}
	if !ok1 || !ok2 || !ok3 || last < first {
		return 0, 0, false
	}
	return first, total, true
}

// digits parses a non-empty run of ASCII digits that fits an int64.
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
