package proto

import (
	"unicode/utf8"

	"pantavisor/lib/progress"
)

// MaxProgressLogs bounds the "logs" member of a progress body (upstream
// sends at most 4096 bytes of the update's logs file).
const MaxProgressLogs = 4096

// AppendProgress appends the PUT /trails/<id>/steps/<rev>/progress body,
// upstream's _ser_progress, written by lib/progress: status, status-msg,
// progress, retries, then downloads and logs. Before writing it
//   - sets progress to the fixed percent of the status (progress.Percent),
//   - writes the downloads block for DOWNLOADING only (zeros when p has
//     none) and never for another status,
//   - keeps the last MaxProgressLogs bytes of logs, cut at a UTF-8
//     boundary: the reference does not say which part upstream keeps, and
//     the end of an update log says why it failed.
func AppendProgress(dst []byte, p progress.Progress) []byte {
	p.Progress = progress.Percent(p.Status)
	if p.Status != progress.Downloading {
		p.Downloads = nil
	} else if p.Downloads == nil {
		p.Downloads = &progress.Downloads{}
	}
	p.Logs = tail(p.Logs, MaxProgressLogs)
	return p.Append(dst)
}

// tail returns the last n bytes at most of s, starting at a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	// Skip the continuation bytes of a rune cut in two (at most 3; more
	// is invalid UTF-8 anyway, which AppendString replaces).
	for i := 0; i < utf8.UTFMax-1 && s != "" && !utf8.RuneStart(s[0]); i++ {
		s = s[1:]
	}
	return s
}
