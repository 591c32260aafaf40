package logs

import "strconv"

// Level is a Pantavisor log level: 0 FATAL (most severe) to 5 TRACE. The
// zero Level is Fatal.
type Level int

// The levels, as numbered on the wire and in PV_LOG_LEVEL.
const (
	Fatal Level = iota
	Error
	Warn
	Info
	Debug
	Trace
)

var levelNames = [...]string{"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"}

// String returns the level's name as written in the logs ("INFO"), or
// "LEVEL(n)" for a value outside 0..5.
func (l Level) String() string {
	if l.Valid() {
		return levelNames[l]
	}
	return "LEVEL(" + strconv.Itoa(int(l)) + ")"
}

// Valid reports whether l is one of the six levels.
func (l Level) Valid() bool { return l >= Fatal && l <= Trace }

// ParseLevel accepts a level name in any case ("info", "WARN") or its number
// ("3"). "ALL" and anything else are refused with ErrBadLevel.
func ParseLevel(s string) (Level, error) {
	if len(s) == 1 && s[0] >= '0' && s[0] <= '5' {
		return Level(s[0] - '0'), nil
	}
	for i, n := range levelNames {
		if equalFold(s, n) {
			return Level(i), nil
		}
	}
	return 0, badf(ErrBadLevel, "%q", s)
}

// SyslogLevel maps a syslog PRI (facility*8 + severity) to a level:
// severity 0-1 FATAL, 2-3 ERROR, 4 WARN, 5-6 INFO, 7 DEBUG.
func SyslogLevel(pri int) Level {
	switch pri & 7 {
	case 0, 1:
		return Fatal
	case 2, 3:
		return Error
	case 4:
		return Warn
	case 5, 6:
		return Info
	}
	return Debug
}

// equalFold compares ASCII strings ignoring case.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
