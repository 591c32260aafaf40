package pvctl

import (
	"io"
	"strings"
	"time"

	"pantavisor/lib/printf"
)

// redraw is the least time between two draws of the progress bar.
const redraw = 200 * time.Millisecond

// progress reports the uploads of steps install on stderr: on a terminal
// one bar with bytes, rate and ETA; otherwise one line per object,
// "uploading <sha> (<n>/<total>) <bytes>".
type progress struct {
	w       io.Writer
	tty     bool
	objects int   // objects to upload
	total   int64 // their bytes
	now     func() time.Time

	n            int   // objects started
	done         int64 // bytes sent
	start, drawn time.Time
}

func (p *progress) begin() { p.start = p.now() }

// object starts the upload of object sha of size bytes.
func (p *progress) object(sha string, size int64) {
	p.n++
	if !p.tty {
		printf.Fprintf(p.w, "uploading %s (%d/%d) %d\n", sha, p.n, p.objects, size)
		return
	}
	p.draw()
}

// add counts n more bytes sent.
func (p *progress) add(n int) {
	p.done += int64(n)
	if p.tty && p.now().Sub(p.drawn) >= redraw {
		p.draw()
	}
}

// end draws the last state of the bar and ends its line.
func (p *progress) end() {
	if p.tty {
		p.draw()
		_, _ = io.WriteString(p.w, "\n")
	}
}

// draw rewrites the bar: [=====     ] done/total rate ETA (n/objects).
func (p *progress) draw() {
	now := p.now()
	p.drawn = now
	const width = 20
	fill := width
	if p.total > 0 {
		fill = int(p.done * width / p.total)
	}
	rate, eta := 0.0, "--:--"
	if secs := now.Sub(p.start).Seconds(); secs > 0 {
		rate = float64(p.done) / secs
	}
	if rate > 0 {
		left := time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second)
		eta = printf.Sprintf("%02d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	}
	printf.Fprintf(p.w, "\r[%s%s] %s/%s %s/s ETA %s (%d/%d)\x1b[K",
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		size(float64(p.done)), size(float64(p.total)), size(rate), eta, p.n, p.objects)
}

// size renders bytes with a binary unit.
func size(b float64) string {
	const units = "KMGT"
	if b < 1024 {
		return printf.Sprintf("%dB", int64(b))
	}
	i := -1
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return printf.Sprintf("%.1f%ciB", b, units[i])
}

// progressReader counts what is read through it.
type progressReader struct {
	r io.Reader
	p *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.add(n)
	return n, err
}
