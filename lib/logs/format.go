package logs

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/rawjson"
)

// Pantavisor is the platform of pantavisor's own messages (upstream's
// cgroup "_pv_", here a process in no container group). Its messages go to
// logs/<rev>/pantavisor/pantavisor.log in the pantavisor line format.
const Pantavisor = "pantavisor"

// entry is one message on its way to the outputs.
type entry struct {
	*Message
	tsec int64 // seconds since boot or since the epoch (PV_LOG_TIMESTAMP)
}

// when returns the message's time, or now when it carries none.
func (e *entry) when(now time.Time) time.Time {
	if e.Time.IsZero() {
		return now
	}
	return e.Time
}

// eachLine calls f for each line of e's data to write, without its line
// end: a stream's lines (see splitLines), or a whole message as one line
// (its trailing line ends dropped; one left empty is skipped). The lines
// are raw: writers escape them (AppendEscaped).
func eachLine(e *entry, f func([]byte)) {
	if e.Proto.Stream() {
		splitLines(e.Data, f)
	} else if line := trimEOL(e.Data); len(line) > 0 {
		f(line)
	}
}

// splitLines calls f for each non-empty line of data, split at '\n',
// without its line end and the CRs before it.
func splitLines(data []byte, f func([]byte)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if line := bytes.TrimRight(data[:i], "\r"); len(line) > 0 {
			f(line)
		}
		if i == len(data) {
			return
		}
		data = data[i+1:]
	}
}

// appendPVLine appends one line in the pantavisor format,
// "[<platform>] <tsec> <LEVEL>\t -- [<source>]: <line>\n", with "[<ts>] "
// after the platform when ts is not empty; line is escaped.
func appendPVLine(dst []byte, e *entry, ts string, line []byte) []byte {
	dst = append(dst, '[')
	dst = append(dst, e.Platform...)
	dst = append(dst, "] "...)
	if ts != "" {
		dst = append(dst, '[')
		dst = append(dst, ts...)
		dst = append(dst, "] "...)
	}
	dst = strconv.AppendInt(dst, e.tsec, 10)
	dst = append(dst, ' ')
	dst = append(dst, e.Level.String()...)
	dst = append(dst, "\t -- ["...)
	dst = append(dst, e.Source...)
	dst = append(dst, "]: "...)
	dst = AppendEscaped(dst, line)
	return append(dst, '\n')
}

// appendPV appends every line of e (see eachLine) in the pantavisor format.
func appendPV(dst []byte, e *entry, ts string) []byte {
	eachLine(e, func(line []byte) { dst = appendPVLine(dst, e, ts, line) })
	return dst
}

// appendRaw appends e's data as a container's file gets it, after
// "[<ts>] " when ts is set: a whole message escaped as one line, with a
// '\n' added (its own trailing line ends dropped); a stream chunk (Legacy,
// Raw) with its line ends kept and each line's content escaped (see
// appendStream).
func appendRaw(dst []byte, e *entry, ts string) []byte {
	if ts != "" {
		dst = append(dst, '[')
		dst = append(dst, ts...)
		dst = append(dst, "] "...)
	}
	if e.Proto.Stream() {
		return appendStream(dst, e.Data)
	}
	dst = AppendEscaped(dst, trimEOL(e.Data))
	return append(dst, '\n')
}

// appendStream appends a chunk of a stream: each '\n' kept as the line
// end, the text between escaped, and CRs ending a line or the chunk
// dropped (a terminal's "\r\n"; a chunk may end between the two).
func appendStream(dst, data []byte) []byte {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return AppendEscaped(dst, bytes.TrimRight(data, "\r"))
		}
		dst = AppendEscaped(dst, bytes.TrimRight(data[:i], "\r"))
		dst = append(dst, '\n')
		data = data[i+1:]
	}
	return dst
}

// appendJSONLines appends one singlefile JSON line per line of e (see
// eachLine), its text escaped before it is JSON-encoded:
// {"tsec":N,"tnano":0[,"ts":"…"],"platform":"…","lvl":"INFO","src":"…","msg":"…"}.
func appendJSONLines(dst []byte, e *entry, ts string) []byte {
	eachLine(e, func(line []byte) {
		dst = append(dst, `{"tsec":`...)
		dst = strconv.AppendInt(dst, e.tsec, 10)
		dst = append(dst, `,"tnano":0`...)
		if ts != "" {
			dst = append(dst, `,"ts":`...)
			dst = rawjson.AppendString(dst, ts)
		}
		dst = append(dst, `,"platform":`...)
		dst = rawjson.AppendString(dst, e.Platform)
		dst = append(dst, `,"lvl":"`...)
		dst = append(dst, e.Level.String()...)
		dst = append(dst, `","src":`...)
		dst = rawjson.AppendString(dst, e.Source)
		dst = append(dst, `,"msg":`...)
		dst = rawjson.AppendString(dst, string(AppendEscaped(nil, line)))
		dst = append(dst, "}\n"...)
	})
	return dst
}

// FormatTime formats t by a PV_LOG_*_TIMESTAMP_FORMAT value:
// "golang:<layout>" (Go's time layout) or "strftime:<format>" (the subset
// documented at strftime). An empty spec gives ""; an unknown prefix "--",
// as upstream writes for a format it cannot apply.
func FormatTime(spec string, t time.Time) string {
	if spec == "" {
		return ""
	}
	if layout, ok := strings.CutPrefix(spec, "golang:"); ok {
		return t.Format(layout)
	}
	if f, ok := strings.CutPrefix(spec, "strftime:"); ok {
		return string(strftime(nil, f, t))
	}
	return "--"
}
