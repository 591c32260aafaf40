package http1

import (
	"bufio"
	"io"
	"strconv"

	"pantavisor/lib/hexbytes"
	"pantavisor/lib/sentinel"
)

// ErrBadChunk is a malformed chunked body: a bad size line, a missing
// CRLF after the data, or trailers over the limit.
var ErrBadChunk error = &sentinel.Error{Text: "http1: malformed chunked body"}

// How a body ends.
const (
	bodyLength  = iota // after left bytes
	bodyChunked        // at the zero-size chunk and its trailers
	bodyEOF            // at the end of the stream
)

// maxChunkLine bounds a chunk-size line (with extensions).
const maxChunkLine = 1024

// body decodes a message body from br. It never reads past the body, so
// br then holds the next message. Errors are sticky; io.EOF ends it.
type body struct {
	br         *bufio.Reader
	mode       int
	left       int64 // bytes left: in the body, or in the current chunk
	inChunk    bool  // chunked: a chunk's data was read, its CRLF is next
	trailerMax int
	err        error
	before     func() error // runs before each read (deadline, 100-continue)
}

// reset starts a body of length n (-1: chunked).
func (b *body) reset(br *bufio.Reader, n int64) {
	*b = body{br: br, mode: bodyLength, left: n, trailerMax: b.trailerMax, before: b.before}
	switch {
	case n < 0:
		b.mode, b.left = bodyChunked, 0
	case n == 0:
		b.err = io.EOF
	}
}

// Read reads body bytes; at most the bytes left in the body or chunk are
// taken from br.
func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.before != nil {
		if err := b.before(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.mode == bodyChunked && b.left == 0 {
		if err := b.nextChunk(); err != nil {
			b.err = err
			return 0, err
		}
	}
	if b.mode != bodyEOF && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	switch {
	case err == io.EOF && b.mode == bodyEOF:
		b.err = io.EOF
	case err == io.EOF:
		b.err = io.ErrUnexpectedEOF
	case err != nil:
		b.err = err
	case b.mode == bodyLength && b.left == 0:
		b.err = io.EOF
		return n, nil
	}
	if n > 0 {
		return n, nil // the error comes with the next Read
	}
	return 0, b.err
}

// done reports whether the body was read to its end.
func (b *body) done() bool { return b.err == io.EOF }

// nextChunk reads the CRLF ending the previous chunk, then the next size
// line; at the last chunk it reads the trailers and returns io.EOF.
func (b *body) nextChunk() error {
	if b.inChunk {
		if line, err := b.chunkLine(); err != nil || len(line) > 0 {
			return orBad(err)
		}
	}
	line, err := b.chunkLine()
	if err != nil {
		return orBad(err)
	}
	size, ok := parseChunkSize(line)
	if !ok {
		return ErrBadChunk
	}
	if size > 0 {
		b.left, b.inChunk = size, true
		return nil
	}
	l := lineReader{br: b.br, left: b.trailerMax, seen: true}
	if _, err := readFields(&l, ErrBadChunk); err != nil {
		return orBad(err)
	}
	return io.EOF
}

// chunkLine reads one line of the chunked framing, without its end.
func (b *body) chunkLine() ([]byte, error) {
	line, err := b.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || len(line) > maxChunkLine:
		return nil, ErrBadChunk
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	case err != nil:
		return nil, err
	}
	return trimEOL(line), nil
}

// orBad turns a header-size error inside a body into ErrBadChunk.
func orBad(err error) error {
	if err == nil || err == ErrHeaderTooBig {
		return ErrBadChunk
	}
	return err
}

// parseChunkSize parses "1a3f[;ext]" (blanks allowed before ';'): at most
// 15 hex digits.
func parseChunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line) && i < 16; i++ {
		d, ok := hexbytes.Digit(line[i])
		if !ok {
			break
		}
		n = n<<4 | int64(d)
	}
	if i == 0 || i == 16 {
		return 0, false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && line[i] != ';' {
		return 0, false
	}
	return n, true
}

// chunkWriter writes each Write as one chunk of the chunked coding.
type chunkWriter struct{ w *bufio.Writer }

func (c chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var hdr [20]byte
	h := append(strconv.AppendInt(hdr[:0], int64(len(p)), 16), '\r', '\n')
	if _, err := c.w.Write(h); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	if err != nil {
		return n, err
	}
	_, err = c.w.WriteString("\r\n")
	return n, err
}

// close writes the last chunk with no trailers.
func (c chunkWriter) close() error {
	_, err := c.w.WriteString("0\r\n\r\n")
	return err
}
