package http1

import (
	"bytes"
	"io"
	"time"
)

// fakeConn is an in-memory transport: reads come from in, writes go to out.
type fakeConn struct {
	in  io.Reader
	out bytes.Buffer
}

func (f *fakeConn) Read(p []byte) (int, error)       { return f.in.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error)      { return f.out.Write(p) }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// fakeServe runs one server connection over in and returns what it wrote.
func fakeServe(in []byte, h Handler) []byte {
	s := &Server{Handler: h, conns: map[*conn]struct{}{}}
	s.setDefaults()
	fc := &fakeConn{in: bytes.NewReader(in)}
	s.track(newConn(s, fc, 0))
	s.wg.Wait()
	return fc.out.Bytes()
}
