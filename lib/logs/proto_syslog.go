package logs

import (
	"bytes"
	"time"
)

// unknownApp is the source of a syslog message that names no application.
const unknownApp = "unknown-app"

// syslogPRI reads "<PRI>" (1-3 digits, at most 191) at the start of b and
// returns PRI and the rest after '>'.
func syslogPRI(b []byte) (int, []byte, error) {
	pri, i := 0, 1
	for i < len(b) && i < 4 && isDigit(b[i]) {
		pri = pri*10 + int(b[i]-'0')
		i++
	}
	if i == 1 || i >= len(b) || b[i] != '>' || pri > 191 {
		return 0, nil, badf(ErrMalformed, "syslog: bad PRI in %q", clip(b))
	}
	return pri, b[i+1:], nil
}

// parse3164 decodes "<PRI>Mmm dd HH:MM:SS [host ]app[pid]: msg". As
// upstream, a first token followed by a space before the first ':' is a
// host name and skipped, the source is the tag without "[pid]", and a
// message without ':' has source "unknown-app". Unlike upstream, which drops
// the message, a missing or unreadable timestamp is tolerated (Time zero).
func parse3164(b []byte) (Message, error) {
	pri, rest, err := syslogPRI(b)
	if err != nil {
		return Message{}, err
	}
	if len(trimEOL(rest)) == 0 {
		return Message{}, badf(ErrMalformed, "rfc3164: nothing after PRI in %q", clip(b))
	}
	m := Message{Proto: RFC3164, Level: SyslogLevel(pri)}
	if t, n, ok := stamp3164(rest, time.Now()); ok {
		m.Time, rest = t, rest[n:]
		if len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
	}
	sp, colon := bytes.IndexByte(rest, ' '), bytes.IndexByte(rest, ':')
	if sp >= 0 && colon >= 0 && sp < colon {
		rest = rest[sp+1:]
		colon -= sp + 1
	}
	m.Source = unknownApp
	if colon >= 0 {
		tag := rest[:colon]
		if i := bytes.IndexByte(tag, '['); i >= 0 {
			tag = tag[:i]
		}
		if len(tag) > 0 {
			m.Source = string(tag)
		}
		rest = rest[colon+1:]
		if len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
	}
	m.Data = bytes.Clone(trimEOL(rest))
	return m, nil
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// stamp3164 reads "Mmm dd HH:MM:SS" (day space- or zero-padded) at the
// start of b in now's year and location; n is the bytes read.
func stamp3164(b []byte, now time.Time) (t time.Time, n int, ok bool) {
	if len(b) < 14 {
		return t, 0, false
	}
	mon := 0
	for i, name := range months {
		if equalFold(string(b[:3]), name) {
			mon = i + 1
		}
	}
	if mon == 0 || b[3] != ' ' {
		return t, 0, false
	}
	i := 4
	if b[i] == ' ' {
		i++
	}
	day, i, ok1 := num(b, i, 1, 2)
	if !ok1 || i >= len(b) || b[i] != ' ' {
		return t, 0, false
	}
	hh, i, ok1 := num(b, i+1, 2, 2)
	if !ok1 || i >= len(b) || b[i] != ':' {
		return t, 0, false
	}
	mm, i, ok1 := num(b, i+1, 2, 2)
	if !ok1 || i >= len(b) || b[i] != ':' {
		return t, 0, false
	}
	ss, i, ok1 := num(b, i+1, 2, 2)
	if !ok1 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return t, 0, false
	}
	return time.Date(now.Year(), time.Month(mon), day, hh, mm, ss, 0, now.Location()), i, true
}

// num reads min..max decimal digits at b[i:].
func num(b []byte, i, min, max int) (v, end int, ok bool) {
	j := i
	for j < len(b) && j-i < max && isDigit(b[j]) {
		v = v*10 + int(b[j]-'0')
		j++
	}
	return v, j, j-i >= min
}

// parse5424 decodes "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]". The
// source is APP ("unknown-app" for "-"); PROCID, MSGID and structured data
// are skipped (structured data is scanned properly, so a ']' or space
// inside a quoted SD value does not shift MSG). TIMESTAMP is RFC 3339 or
// "-" (Time zero).
func parse5424(b []byte) (Message, error) {
	pri, rest, err := syslogPRI(b)
	if err != nil {
		return Message{}, err
	}
	var f [6][]byte // VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
	for i := range f {
		sp := bytes.IndexByte(rest, ' ')
		if sp <= 0 {
			return Message{}, badf(ErrMalformed, "rfc5424: missing header field %d in %q", i+1, clip(b))
		}
		f[i], rest = rest[:sp], rest[sp+1:]
	}
	if string(f[0]) != "1" {
		return Message{}, badf(ErrMalformed, "rfc5424: version %q", f[0])
	}
	m := Message{Proto: RFC5424, Level: SyslogLevel(pri), Source: unknownApp}
	if string(f[1]) != "-" {
		if m.Time, err = time.Parse(time.RFC3339Nano, string(f[1])); err != nil {
			return Message{}, badf(ErrMalformed, "rfc5424: timestamp %q", f[1])
		}
	}
	if string(f[3]) != "-" {
		m.Source = string(f[3])
	}
	n, ok := skipSD(rest)
	if !ok {
		return Message{}, badf(ErrMalformed, "rfc5424: structured data in %q", clip(b))
	}
	rest = rest[n:]
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf")) // BOM
	m.Data = bytes.Clone(trimEOL(rest))
	return m, nil
}

// skipSD returns the length of the STRUCTURED-DATA field at the start of
// b: "-" or one or more "[id param="value" ...]" elements, where a value
// may contain '\"', '\\' and '\]'.
func skipSD(b []byte) (int, bool) {
	if len(b) > 0 && b[0] == '-' {
		return 1, len(b) == 1 || b[1] == ' '
	}
	i := 0
	for i < len(b) && b[i] == '[' {
		quoted := false
		for i++; i < len(b); i++ {
			c := b[i]
			if quoted && c == '\\' {
				i++
				continue
			}
			if c == '"' {
				quoted = !quoted
			} else if c == ']' && !quoted {
				break
			}
		}
		if i >= len(b) {
			return 0, false
		}
		i++
	}
	return i, i > 0 && (i == len(b) || b[i] == ' ')
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
