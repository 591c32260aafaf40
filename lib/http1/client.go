package http1

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/sentinel"
	"pantavisor/lib/unixsock"
)

// maxResponseHead bounds a response's status line and header.
const maxResponseHead = 64 << 10

// ErrShortBody is a request body that ended before its announced length.
var ErrShortBody error = &sentinel.Error{Text: "http1: request body shorter than its length"}

// Client sends requests to a unix socket, one connection per request.
type Client struct {
	Socket  string
	Timeout time.Duration // whole request, connect to end of body (0 = none)
}

// ClientResponse is a response read by Client.Do; the caller closes Body.
type ClientResponse struct {
	Status        int
	Reason        string
	Header        Header
	ContentLength int64 // -1: chunked or until close
	Body          io.ReadCloser
}

// Do sends a request with a body of length bytes (-1: chunked; 0 and nil
// body: none) and returns the response with its body unread. The request
// is HTTP/1.1 with "Host: localhost" and "Connection: close"; h may not
// set Host, Content-Length, Transfer-Encoding or Connection (they are
// dropped). A response that comes while the body is still being sent
// (an early error) is returned.
func (c *Client) Do(method, target string, h Header, body io.Reader, length int64) (*ClientResponse, error) {
	if !isToken([]byte(method)) || !isTarget([]byte(target)) {
		return nil, errors.New("http1: invalid request line: " + strconv.Quote(method+" "+target))
	}
	f, err := unixsock.Dial(c.Socket, c.Timeout)
	if err != nil {
		return nil, err
	}
	if c.Timeout > 0 {
		_ = f.SetDeadline(time.Now().Add(c.Timeout)) // a fresh socket from Dial supports deadlines
	}
	werr := writeRequest(f, "localhost", method, target, h, body, length)
	resp, err := readResponse(bufio.NewReaderSize(f, bufSize), method)
	if err != nil {
		f.Close()
		if werr != nil {
			err = werr
		}
		return nil, &os.PathError{Op: method + " " + target, Path: c.Socket, Err: err}
	}
	resp.Body.(*clientBody).c = f
	return resp, nil
}

// Exchange sends one request on conn and reads the response head, as Do
// does on its unix socket, with "Host: <host>" (host as given: bracket an
// IPv6 literal, add a port if wanted). The caller sets any deadline on
// conn first. On success closing the response's Body closes conn; on
// error conn is closed and the error is the cause, unwrapped. (Do keeps
// its own copy of these lines: the device binary, which only uses Do,
// then does not pay for a second function.)
func Exchange(conn io.ReadWriteCloser, host, method, target string, h Header, body io.Reader, length int64) (*ClientResponse, error) {
	var err error
	switch {
	case !isToken([]byte(method)) || !isTarget([]byte(target)):
		err = errors.New("http1: invalid request line: " + strconv.Quote(method+" "+target))
	case !isTarget([]byte(host)):
		err = errors.New("http1: invalid host " + strconv.Quote(host))
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	werr := writeRequest(conn, host, method, target, h, body, length)
	resp, err := readResponse(bufio.NewReaderSize(conn, bufSize), method)
	if err != nil {
		conn.Close()
		if werr != nil {
			err = werr
		}
		return nil, err
	}
	resp.Body.(*clientBody).c = conn
	return resp, nil
}

// writeRequest sends the request head, then the body.
func writeRequest(w io.Writer, host, method, target string, h Header, body io.Reader, length int64) error {
	bw := bufio.NewWriterSize(w, bufSize)
	b := make([]byte, 0, 256)
	b = append(append(append(append(b, method...), ' '), target...), " HTTP/1.1\r\nHost: "...)
	b = append(append(b, host...), "\r\n"...)
	for _, fl := range h {
		if ours(fl.Name) || strings.EqualFold(fl.Name, "Host") {
			continue
		}
		if !isToken([]byte(fl.Name)) || strings.ContainsAny(fl.Value, "\r\n") {
			return errors.New("http1: invalid header field " + strconv.Quote(fl.Name))
		}
		b = append(append(append(append(b, fl.Name...), ": "...), fl.Value...), "\r\n"...)
	}
	switch {
	case length < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case length > 0 || method == "POST" || method == "PUT" || method == "PATCH":
		b = append(strconv.AppendInt(append(b, "Content-Length: "...), length, 10), "\r\n"...)
	}
	b = append(b, "Connection: close\r\n\r\n"...)
	_, _ = bw.Write(b) // bufio keeps the error; Flush returns it
	if body == nil || length == 0 {
		if length < 0 {
			_ = chunkWriter{bw}.close() // Flush returns bufio's error
		}
		return bw.Flush()
	}
	if length < 0 {
		if _, err := io.Copy(chunkWriter{bw}, body); err != nil {
			return err
		}
		_ = chunkWriter{bw}.close() // Flush returns bufio's error
		return bw.Flush()
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	n, err := io.CopyN(w, body, length)
	if err == io.EOF && n < length {
		return ErrShortBody
	}
	return err
}

// readResponse reads the status line and header and sets up Body.
func readResponse(br *bufio.Reader, method string) (*ClientResponse, error) {
	r, err := readStatus(br, maxResponseHead)
	if err != nil {
		return nil, err
	}
	n, chunked, err := framing(r.Header)
	if err != nil {
		return nil, ErrBadResponse
	}
	b := &clientBody{}
	b.trailerMax = maxResponseHead
	switch {
	case method == "HEAD" || bodyless(r.Status):
		n = 0
		b.reset(br, 0)
	case chunked:
		n = -1
		b.reset(br, -1)
	case n < 0:
		b.reset(br, 0)
		b.mode, b.err = bodyEOF, nil
	default:
		b.reset(br, n)
	}
	r.ContentLength, r.Body = n, b
	return r, nil
}

// clientBody is a response body; closing it closes the connection.
type clientBody struct {
	body
	c io.Closer
}

// Close closes the connection.
func (b *clientBody) Close() error { return b.c.Close() }
