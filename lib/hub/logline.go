package hub

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	logsrv "pantavisor/lib/logs"
)

// lineTime reads the time and level a line of the log tree carries, as
// lib/logs writes them (see logs.Server's emit):
//
//   - pantavisor's own file: "[pantavisor] [<ts>] <tsec> <LEVEL>\t -- [<src>]: <text>";
//   - a container's file: "[<ts>] <text>".
//
// "[<ts>] " is there only when PV_LOG_FILETREE_TIMESTAMP_FORMAT is set; tf
// parses it (nil: never). Without it, pantavisor's <tsec> is the time when
// PV_LOG_TIMESTAMP is "absolute" (seconds since the epoch); "relative"
// seconds since some boot are no date. ok is false when the line carries
// no usable time. lvl is the <LEVEL> of pantavisor's lines, "" otherwise.
func lineTime(line []byte, pvFormat bool, tf *timeParser, absolute bool) (t time.Time, ok bool, lvl string) {
	rest := line
	if pvFormat {
		r, found := bytes.CutPrefix(rest, []byte("["+logsrv.Pantavisor+"] "))
		if !found {
			return time.Time{}, false, ""
		}
		rest = r
	}
	if tf != nil && len(rest) > 0 && rest[0] == '[' {
		if i := bytes.Index(rest, []byte("] ")); i > 0 {
			if t, ok = tf.parse(string(rest[1:i])); ok {
				rest = rest[i+2:]
			}
		}
	}
	if !pvFormat {
		return t, ok, ""
	}
	// "<tsec> <LEVEL>\t -- "
	sp := bytes.IndexByte(rest, ' ')
	tab := bytes.IndexByte(rest, '\t')
	if sp <= 0 || tab <= sp {
		return t, ok, ""
	}
	if l, err := logsrv.ParseLevel(string(rest[sp+1 : tab])); err == nil && len(rest[sp+1:tab]) > 1 {
		lvl = l.String()
	}
	if !ok && absolute {
		if sec, err := strconv.ParseInt(string(rest[:sp]), 10, 64); err == nil && sec > 0 {
			t, ok = time.Unix(sec, 0), true
		}
	}
	return t, ok, lvl
}

// timeParser parses the "[<ts>]" prefix that lib/logs writes with a
// PV_LOG_FILETREE_TIMESTAMP_FORMAT spec (logs.FormatTime).
type timeParser struct {
	layout string // Go layout
	epoch  bool   // "strftime:%s": seconds since the epoch
	loc    *time.Location
}

// newTimeParser returns the parser of spec ("golang:<layout>" or
// "strftime:<format>"), or nil when spec is empty, unknown, or uses a
// strftime directive with no Go layout equivalent (see strftimeLayout).
func newTimeParser(spec string, loc *time.Location) *timeParser {
	if loc == nil {
		loc = time.Local
	}
	if layout, ok := strings.CutPrefix(spec, "golang:"); ok && layout != "" {
		return &timeParser{layout: layout, loc: loc}
	}
	f, ok := strings.CutPrefix(spec, "strftime:")
	if !ok {
		return nil
	}
	if f == "%s" {
		return &timeParser{epoch: true, loc: loc}
	}
	layout, ok := strftimeLayout(f)
	if !ok || layout == "" {
		return nil
	}
	return &timeParser{layout: layout, loc: loc}
}

// parse parses s in p's format, in p's location when it names no zone.
func (p *timeParser) parse(s string) (time.Time, bool) {
	if p.epoch {
		sec, err := strconv.ParseInt(s, 10, 64)
		return time.Unix(sec, 0), err == nil
	}
	t, err := time.ParseInLocation(p.layout, s, p.loc)
	return t, err == nil
}

// strftimeDirectives maps the strftime directives lib/logs writes to Go
// layout elements; %s (only alone) and %N (only after '.' or ',') are
// handled by their callers.
var strftimeDirectives = [...]struct {
	c      byte
	layout string
}{
	{'a', "Mon"}, {'A', "Monday"}, {'b', "Jan"}, {'B', "January"},
	{'d', "02"}, {'e', "_2"}, {'F', "2006-01-02"}, {'H', "15"},
	{'I', "03"}, {'j', "002"}, {'m', "01"}, {'M', "04"},
	{'p', "PM"}, {'S', "05"}, {'T', "15:04:05"}, {'y', "06"},
	{'Y', "2006"}, {'z', "-0700"}, {'Z', "MST"}, {'%', "%"},
}

// strftimeLayout converts a strftime format of lib/logs' subset to a Go
// layout. ok is false for a directive with no equivalent (%s among other
// text, %N not after '.' or ',', an unknown one). Literal text is copied:
// text that happens to be a Go layout element ("Jan", "2") would be read
// as one, so such formats do not parse and their lines fall back.
func strftimeLayout(f string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		if f[i] == 'N' {
			if i < 2 || (f[i-2] != '.' && f[i-2] != ',') {
				return "", false
			}
			b.WriteString("000000000")
			continue
		}
		found := false
		for _, d := range strftimeDirectives {
			if d.c == f[i] {
				b.WriteString(d.layout)
				found = true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	return b.String(), true
}
