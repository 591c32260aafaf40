package logs

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Proto is the wire format a message arrived in.
type Proto uint8

// The wire formats of pv-ctrl-log, Raw for data read from a subscribed
// file descriptor (a stream, like Legacy: see Stream) and Text for one
// whole message given to Server.Log.
const (
	Unknown Proto = iota
	Legacy        // binary struct, code 0
	Cmd           // binary struct, code 256: an internal command
	RFC5424
	RFC3164
	JSON
	KV
	Raw
	Text
)

var protoNames = [...]string{"unknown", "legacy", "cmd", "rfc5424", "rfc3164", "json", "kv", "raw", "text"}

// Stream reports whether messages of p are chunks of a byte stream
// (Legacy, Raw: a console, a pipe), multi-line by nature and cut
// anywhere, rather than one whole message each.
func (p Proto) Stream() bool { return p == Legacy || p == Raw }

func (p Proto) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// Binary message codes (struct logserver_msg.code).
const (
	CodeLegacy = 0
	CodeCmd    = 256
)

// Errors wrapped by Parse and the server; check them with errors.Is.
var (
	ErrUnknownProtocol = errors.New("unknown log protocol")
	ErrMalformed       = errors.New("malformed log message")
	ErrBadLevel        = errors.New("bad log level")
	ErrBadName         = errors.New("bad log platform or source name")
)

func badf(sentinel error, format string, args ...any) error {
	return printf.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// Message is one log message. Parse fills what the wire carries; the server
// fills Platform (unless the protocol carries it) and Time.
type Message struct {
	Proto    Proto
	Level    Level
	Platform string    // container name; set by Parse only for Legacy
	Source   string    // e.g. "syslog", "lxc/console.log"
	Data     []byte    // the text; for Cmd the command JSON
	Time     time.Time // from the message (RFC 3164/5424); zero = received now
}

// MaxMessage bounds one message on pv-ctrl-log; longer text is cut into
// several messages and a longer binary message closes the connection.
const MaxMessage = 64 << 10

// Parse detects the wire format of one framed message and decodes it, in
// the order of upstream's logserver_proto_get:
//  1. "<" + 1-4 digits + ">": RFC 5424 when the next byte is '1', else RFC 3164;
//  2. a JSON object or array: JSON;
//  3. level=, src= and message= pairs, all three: key=value;
//  4. a first int32 (host order) of 0: legacy binary; of 256: command.
//
// Checks 1-3 see the text up to the first NUL byte, as upstream's C string
// functions do. A message that is detected but does not decode is
// ErrMalformed (or ErrBadLevel); one that matches nothing is
// ErrUnknownProtocol. Data and strings do not alias b.
func Parse(b []byte) (Message, error) {
	text := b
	if i := bytes.IndexByte(b, 0); i >= 0 {
		text = b[:i]
	}
	switch {
	case isRFC(text):
		if i := bytes.IndexByte(text, '>'); i+1 < len(text) && text[i+1] == '1' {
			return parse5424(text)
		}
		return parse3164(text)
	case len(text) > 0 && (text[0] == '{' || text[0] == '[' || isSpace(text[0])):
		if v, err := rawjson.Parse(text); err == nil && (v.Kind == rawjson.Object || v.Kind == rawjson.Array) {
			return parseJSON(v)
		}
	}
	if m, ok, err := parseKV(text); ok {
		return m, err
	}
	if len(b) >= 8 {
		switch hostInt32(b) {
		case CodeLegacy:
			return parseLegacy(b)
		case CodeCmd:
			return parseCmd(b)
		}
	}
	return Message{}, ErrUnknownProtocol
}

// isRFC reports whether b starts with "<" + 1-4 digits + ">".
func isRFC(b []byte) bool {
	if len(b) < 3 || b[0] != '<' {
		return false
	}
	i := 1
	for i < len(b) && i < 5 && isDigit(b[i]) {
		i++
	}
	return i > 1 && i < len(b) && b[i] == '>'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// trimEOL drops trailing CR and LF bytes.
func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
