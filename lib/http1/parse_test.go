package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadRequest(t *testing.T) {
	long := strings.Repeat("a", 5000) // longer than the 4 KiB buffer
	tests := []struct {
		name    string
		in      string
		err     error
		method  string
		target  string
		proto   string
		header  Header
		length  int64
		body    string
		bodyErr error
	}{
		{name: "get 1.1", in: "GET /containers HTTP/1.1\r\nHost: localhost\r\n\r\n",
			method: "GET", target: "/containers", proto: "HTTP/1.1", header: Header{{"Host", "localhost"}}},
		{name: "bare LF", in: "GET /x?y HTTP/1.0\nA:b\n\n", method: "GET", target: "/x?y", proto: "HTTP/1.0", header: Header{{"A", "b"}}},
		{name: "leading empty lines", in: "\r\n\r\nGET / HTTP/1.1\r\n\r\n", method: "GET", target: "/", proto: "HTTP/1.1"},
		{name: "value blanks trimmed", in: "PUT / HTTP/1.1\r\nX-A: \t v w \t\r\nContent-Length: 3\r\n\r\nabc",
			method: "PUT", target: "/", proto: "HTTP/1.1", header: Header{{"X-A", "v w"}, {"Content-Length", "3"}}, length: 3, body: "abc"},
		{name: "identity and length", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nab",
			method: "PUT", target: "/", proto: "HTTP/1.1", header: Header{{"Transfer-Encoding", "identity"}, {"Content-Length", "2"}}, length: 2, body: "ab"},
		{name: "equal lengths", in: "PUT / HTTP/1.1\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nab",
			method: "PUT", target: "/", proto: "HTTP/1.1", header: Header{{"Content-Length", "2, 2"}, {"Content-Length", "2"}}, length: 2, body: "ab"},
		{name: "chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip-less, chunked\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "chunked body", in: "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nContent-Length: 99\r\n\r\n2 ; a=b\r\nab\r\n0\r\nX: y\r\n\r\n",
			method: "POST", target: "/", proto: "HTTP/1.1", header: Header{{"Transfer-Encoding", "Chunked"}, {"Content-Length", "99"}}, length: -1, body: "ab"},
		{name: "long header line", in: "GET / HTTP/1.1\r\nX: " + long + "\r\n\r\n",
			method: "GET", target: "/", proto: "HTTP/1.1", header: Header{{"X", long}}},
		{name: "no length no body", in: "POST / HTTP/1.0\r\n\r\nextra", method: "POST", target: "/", proto: "HTTP/1.0"},
		{name: "empty", in: "", err: io.EOF},
		{name: "only CRLF", in: "\r\n", err: io.EOF},
		{name: "cut after CRLF", in: "\r\nGE", err: io.ErrUnexpectedEOF},
		{name: "too many empty lines", in: "\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", err: ErrBadRequest},
		{name: "cut in line", in: "GET / HT", err: io.ErrUnexpectedEOF},
		{name: "cut in header", in: "GET / HTTP/1.1\r\nA: b\r\n", err: io.ErrUnexpectedEOF, proto: "HTTP/1.1"},
		{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\n\r\n", err: ErrProto},
		{name: "HTTP/1.2", in: "GET / HTTP/1.2\r\n\r\n", err: ErrProto},
		{name: "HTTP/0.9", in: "GET / HTTP/0.9\r\n\r\n", err: ErrProto},
		{name: "lower case version", in: "GET / http/1.1\r\n\r\n", err: ErrBadRequest},
		{name: "no version", in: "GET /\r\n\r\n", err: ErrBadRequest},
		{name: "two spaces", in: "GET  / HTTP/1.1\r\n\r\n", err: ErrBadRequest},
		{name: "bad method", in: "G(T / HTTP/1.1\r\n\r\n", err: ErrBadRequest},
		{name: "control in target", in: "GET /\x01 HTTP/1.1\r\n\r\n", err: ErrBadRequest},
		{name: "no colon", in: "GET / HTTP/1.1\r\nHost\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "folded line", in: "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "NUL in value", in: "GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "CR in value", in: "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "negative length", in: "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "huge length", in: "PUT / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "plus length", in: "PUT / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "differing lengths", in: "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "gzip coding", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "chunked not last", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.1"},
		{name: "head too big", in: "GET / HTTP/1.1\r\nX: " + long + long + "\r\n\r\n", err: ErrHeaderTooBig, proto: "HTTP/1.1"},
		{name: "request line too big", in: "GET /" + long + long + " HTTP/1.0\r\n\r\n", err: ErrHeaderTooBig},
		{name: "1.0 no colon", in: "GET / HTTP/1.0\r\nHost\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.0"},
		{name: "1.0 cut in header", in: "PUT / HTTP/1.0\r\nA: b\r\n", err: io.ErrUnexpectedEOF, proto: "HTTP/1.0"},
		{name: "1.0 head too big", in: "GET / HTTP/1.0\r\nX: " + long + long + "\r\n\r\n", err: ErrHeaderTooBig, proto: "HTTP/1.0"},
		{name: "1.0 differing lengths", in: "PUT / HTTP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.0"},
		{name: "1.0 chunked not last", in: "PUT / HTTP/1.0\r\nTransfer-Encoding: chunked, identity\r\n\r\n", err: ErrBadRequest, proto: "HTTP/1.0"},
		{name: "short body", in: "PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", method: "PUT", target: "/", proto: "HTTP/1.1",
			header: Header{{"Content-Length", "5"}}, length: 5, body: "ab", bodyErr: io.ErrUnexpectedEOF},
		{name: "bad chunk size", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", method: "PUT", target: "/", proto: "HTTP/1.1",
			header: Header{{"Transfer-Encoding", "chunked"}}, length: -1, bodyErr: ErrBadChunk},
		{name: "chunk without CRLF", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", method: "PUT", target: "/", proto: "HTTP/1.1",
			header: Header{{"Transfer-Encoding", "chunked"}}, length: -1, body: "a", bodyErr: ErrBadChunk},
		{name: "chunked cut", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", method: "PUT", target: "/", proto: "HTTP/1.1",
			header: Header{{"Transfer-Encoding", "chunked"}}, length: -1, body: "ab", bodyErr: io.ErrUnexpectedEOF},
		{name: "trailers too big", in: "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + long + long + "\r\n\r\n", method: "PUT", target: "/",
			proto: "HTTP/1.1", header: Header{{"Transfer-Encoding", "chunked"}}, length: -1, bodyErr: ErrBadChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), bufSize)
			r, err := readRequest(br, DefaultMaxHeaderBytes)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				if tt.proto == "" {
					assert.Nil(t, r, "no request line: answered in HTTP/1.1")
				} else if assert.NotNil(t, r, "the request line was read: its version is known") {
					assert.Equal(t, tt.proto, r.Proto)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.method, r.Method)
			assert.Equal(t, tt.target, r.Target)
			assert.Equal(t, tt.proto, r.Proto)
			assert.Equal(t, tt.header, r.Header)
			assert.Equal(t, tt.length, r.ContentLength)
			b := &body{trailerMax: DefaultMaxHeaderBytes}
			b.reset(br, r.ContentLength)
			got, err := io.ReadAll(b)
			assert.Equal(t, tt.body, string(got))
			if tt.bodyErr != nil {
				assert.ErrorIs(t, err, tt.bodyErr)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"a", 10, true}, {"FF", 255, true}, {"10;x=y", 16, true}, {"10 \t;x", 16, true}, {"10 ", 16, true},
		{"fffffffffffffff", 1<<60 - 1, true}, {"1000000000000000", 0, false}, {"", 0, false}, {";x", 0, false},
		{"-1", 0, false}, {"0x10", 0, false}, {"1 2", 0, false}, {"g", 0, false},
	}
	for _, tt := range tests {
		n, ok := parseChunkSize([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.n, n, tt.in)
	}
}

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		in     string
		status int
		reason string
		ok     bool
	}{
		{"HTTP/1.1 200 OK", 200, "OK", true},
		{"HTTP/1.0 503 Service Unavailable", 503, "Service Unavailable", true},
		{"HTTP/1.1 204 ", 204, "", true},
		{"HTTP/1.1 204", 204, "", true},
		{"HTTP/2 200 OK", 0, "", false},
		{"HTTP/1.1 20 OK", 0, "", false},
		{"HTTP/1.1 099 x", 0, "", false},
		{"HTTP/1.1 abc OK", 0, "", false},
		{"", 0, "", false},
	}
	for _, tt := range tests {
		status, reason, ok := parseStatusLine([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, tt.in)
		assert.Equal(t, tt.status, status, tt.in)
		assert.Equal(t, tt.reason, reason, tt.in)
	}
}

func TestReason(t *testing.T) {
	tests := map[int]string{100: "Continue", 200: "OK", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
		404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 411: "Length Required", 413: "Payload Too Large",
		422: "Unprocessable Entity", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
		503: "Service Unavailable", 507: "Insufficient Storage", 299: "", 0: ""}
	for code, want := range tests {
		assert.Equal(t, want, Reason(code), code)
	}
}

func TestHeader(t *testing.T) {
	h := Header{{"A", "1"}, {"b", "2"}, {"a", "3"}}
	assert.Equal(t, "1", h.Get("a"))
	assert.Equal(t, "", h.Get("c"))
	assert.True(t, h.Has("B"))
	h.Set("A", "4")
	assert.Equal(t, Header{{"b", "2"}, {"A", "4"}}, h)
	h.Add("b", "5")
	h.Del("B")
	assert.Equal(t, Header{{"A", "4"}}, h)
	r := &Request{Target: "/a/b?c=d?e"}
	assert.Equal(t, "/a/b", r.Path())
	assert.Equal(t, "c=d?e", r.Query())
}

func TestHasToken(t *testing.T) {
	assert.True(t, hasToken("close", "close"))
	assert.True(t, hasToken("keep-alive, Close", "close"))
	assert.False(t, hasToken("closed", "close"))
	assert.False(t, hasToken("", "close"))
}

// FuzzRequest feeds arbitrary bytes to the request parser and the body
// decoder, then to a whole server connection: no panic, no hang, a parsed
// request is well-formed, and once the request line was read the answer,
// good or bad, is in the request's HTTP version.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
		"PUT /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: x\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		"\r\nGET /a?b HTTP/1.1\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.0\r\nNo colon\r\n\r\n",
		"PUT / HTTP/1.0\r\nContent-Length: 1, 2\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), bufSize)
		r, err := readRequest(br, DefaultMaxHeaderBytes)
		if err == nil {
			require.True(t, r.Proto == "HTTP/1.0" || r.Proto == "HTTP/1.1")
			require.NotEmpty(t, r.Method)
			require.GreaterOrEqual(t, r.ContentLength, int64(-1))
			b := &body{trailerMax: DefaultMaxHeaderBytes}
			b.reset(br, r.ContentLength)
			n, _ := io.Copy(io.Discard, b)
			if r.ContentLength >= 0 {
				require.LessOrEqual(t, n, r.ContentLength)
			}
		} else {
			require.True(t, errors.Is(err, ErrBadRequest) || errors.Is(err, ErrProto) || errors.Is(err, ErrHeaderTooBig) ||
				errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
		}
		out := fakeServe(in, echo)
		if len(out) > 0 {
			require.True(t, bytes.HasPrefix(out, []byte("HTTP/1.")), "%q", out)
		}
		if r != nil && len(out) > 0 {
			require.True(t, bytes.HasPrefix(out, []byte(r.Proto+" ")), "a %s request answered %q", r.Proto, out)
		}
	})
}
