package debugshell

import (
	"bytes"
	"io"
	"sync"

	"pantavisor/lib/printf"
)

// DefaultHeld is how much log a paused View keeps when Options.Held is 0.
const DefaultHeld = 8 << 10

// View is the console's log view: writes pass through to W unless the
// view is paused (a debug shell owns the console). While paused it keeps
// the last Held bytes of log, cut at a line start, and prints them on
// Resume after a line saying how much was dropped. Say writes to W even
// while paused: messages for the person at the shell. The zero value
// (with W) passes everything through; it is safe for concurrent use.
type View struct {
	W    io.Writer
	Held int // bytes kept while paused; DefaultHeld when 0

	mu      sync.Mutex
	paused  bool
	held    []byte
	dropped int
}

// Write writes p to W, or keeps it while the view is paused. It never
// fails while paused.
func (v *View) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.paused {
		return v.W.Write(p)
	}
	v.held = append(v.held, p...)
	limit := v.Held
	if limit <= 0 {
		limit = DefaultHeld
	}
	if over := len(v.held) - limit; over > 0 {
		cut := over
		if i := bytes.IndexByte(v.held[over:], '\n'); i >= 0 {
			cut = over + i + 1
		}
		v.dropped += cut
		v.held = append(v.held[:0], v.held[cut:]...)
	}
	return len(p), nil
}

// Pause holds the log from now on.
func (v *View) Pause() {
	v.mu.Lock()
	v.paused = true
	v.mu.Unlock()
}

// Resume passes the log through again, after the log held meanwhile
// (prefixed by a line counting what was dropped, if anything was).
func (v *View) Resume() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.paused {
		return
	}
	v.paused = false
	if v.dropped > 0 {
		printf.Fprintf(v.W, "pantavisor: %d bytes of console log dropped while the debug shell was open\n", v.dropped)
	}
	if len(v.held) > 0 {
		_, _ = v.W.Write(v.held) // the console: nothing to do about a failure
	}
	v.held, v.dropped = nil, 0
}

// Say prints one "pantavisor: " line on W, paused or not.
func (v *View) Say(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	printf.Fprintf(v.W, "pantavisor: "+format+"\n", args...)
}
