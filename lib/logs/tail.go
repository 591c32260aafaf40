package logs

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"
)

// Tail follows what a container writes to one file (run.json "logs"),
// as upstream's pvlogger does, and sends each line to the server as
// <Platform>/<Source>. It reads the file through Path, which is usually
// /proc/<container init pid>/root/<file>, so no namespace is joined.
type Tail struct {
	Path     string        // the file, as seen from here
	Platform string        // container name
	Source   string        // the file's path inside the container
	MaxSize  int64         // with Truncate: empty the file once it is larger
	Truncate bool          // truncate the file after reading past MaxSize
	Every    time.Duration // poll period; 0 = 500 ms
}

// Run follows the file until ctx ends. A file that does not exist yet is
// waited for; a file that shrank (rotated, truncated) is read from its
// start again.
func (t *Tail) Run(ctx context.Context, srv *Server) {
	every := t.Every
	if every == 0 {
		every = 500 * time.Millisecond
	}
	var off int64
	var partial []byte
	for {
		off, partial = t.poll(srv, off, partial)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// poll reads what was appended since off and sends complete lines.
func (t *Tail) poll(srv *Server, off int64, partial []byte) (int64, []byte) {
	f, err := os.Open(t.Path)
	if err != nil {
		return off, partial
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return off, partial
	}
	if fi.Size() < off {
		off, partial = 0, nil // truncated or replaced
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, partial
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return off, partial
	}
	off += int64(len(data))
	data = append(partial, data...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		// Write fails only once the server is closed, when tails stop too.
		_ = srv.Write(Message{Proto: Raw, Level: Info, Platform: t.Platform, Source: t.Source,
			Data: append([]byte(nil), data[:i+1]...)})
		data = data[i+1:]
	}
	if t.Truncate && t.MaxSize > 0 && off > t.MaxSize && len(data) == 0 {
		if os.Truncate(t.Path, 0) == nil {
			off = 0
		}
	}
	return off, append([]byte(nil), data...)
}
