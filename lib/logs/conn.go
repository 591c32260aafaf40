package logs

import (
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/unixsock"
)

// acceptLoop accepts connections on ln until it is closed, names each
// sender (see caller) and serves it in its own goroutine, registered so
// that Close can end it; a connection over the sender's share of MaxConns
// is closed at once.
func (s *Server) acceptLoop(ln *os.File, serve func(c *os.File, pid int, platform string)) {
	defer s.wg.Done()
	for {
		c, pid, err := unixsock.Accept(ln)
		if err != nil {
			var se *unixsock.SockError
			if !errors.As(err, &se) {
				return // the listener was closed
			}
			s.report(err)
			time.Sleep(50 * time.Millisecond) // EMFILE and friends: let fds free up
			continue
		}
		platform, peer := s.caller(pid)
		s.mu.Lock()
		if s.state != stateStarted {
			s.mu.Unlock()
			c.Close()
			return
		}
		if !s.table.Take(peer) {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			serve(c, pid, platform)
			s.mu.Lock()
			delete(s.conns, c)
			s.table.Release(peer)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serveCtrl reads messages from one pv-ctrl-log connection until it ends
// (see split for the framing) and logs each under the sender's platform.
func (s *Server) serveCtrl(c *os.File, pid int, platform string) {
	buf := make([]byte, 0, 4096)
	var st framing
	for {
		if len(buf) == cap(buf) && cap(buf) < MaxMessage+8 {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		full := len(buf)+n == cap(buf)
		buf = buf[:len(buf)+n]
		eof := err != nil
		used, serr := split(buf, &st, !full, eof, func(frame []byte) {
			s.report(s.handleFrame(frame, pid, platform))
		})
		if serr != nil {
			s.report(&os.PathError{Op: "read log from pid " + strconv.Itoa(pid), Path: c.Name(), Err: serr})
			return
		}
		buf = buf[:copy(buf, buf[used:])]
		if eof {
			return
		}
	}
}

// handleFrame parses one message and logs it; a command is obeyed only
// from CmdPid. Errors name the sender's pid.
func (s *Server) handleFrame(frame []byte, pid int, platform string) error {
	m, err := Parse(frame)
	switch {
	case err != nil:
	case m.Proto == Cmd:
		err = s.command(m.Data, pid)
	default:
		if m.Proto != Legacy || m.Platform == "" {
			m.Platform = platform
		}
		err = s.emit(&m)
	}
	if err != nil {
		return &os.PathError{Op: "log from pid " + strconv.Itoa(pid), Path: s.CtrlSocket(), Err: err}
	}
	return nil
}

// command runs an internal command: TRANSITION switches the revision;
// EXIT and the update commands are accepted and ignored (Close stops the
// server; the update output is not implemented).
func (s *Server) command(data []byte, pid int) error {
	want := s.CmdPid
	if want == 0 {
		want = os.Getpid()
	}
	if pid != want {
		return badf(ErrNotAllowed, "pid %d", pid)
	}
	c, err := ParseCommand(data)
	if err != nil {
		return err
	}
	if c.Code == CmdTransition {
		return s.SetRev(c.Data)
	}
	return nil
}

// fdRequestSize is the pv-fd-log request: char platform[50], char
// source[50], int level, int action.
const fdRequestSize = 50 + 50 + 4 + 4

// serveFd reads subscription requests from one pv-fd-log connection; each
// comes with a file descriptor (SCM_RIGHTS) for action 1 (subscribe);
// platform is the sender's.
func (s *Server) serveFd(c *os.File, pid int, platform string) {
	var req [fdRequestSize]byte
	have := 0
	var fds []int
	defer func() { closeFDs(fds) }()
	for {
		n, got, err := unixsock.RecvFDs(c, req[have:])
		fds = append(fds, got...)
		if err != nil || n == 0 {
			if se := (*unixsock.SockError)(nil); errors.As(err, &se) {
				s.report(err) // not the end of the stream nor Close
			}
			return
		}
		if have += n; have < fdRequestSize {
			continue
		}
		have = 0
		fd := -1
		if len(fds) > 0 {
			fd, fds = fds[0], fds[1:]
		}
		closeFDs(fds)
		fds = nil
		s.report(s.fdRequest(req[:], fd, platform))
	}
}

// fdRequest obeys one pv-fd-log request. The platform comes from the
// request, as upstream; an empty one is the sender's.
func (s *Server) fdRequest(req []byte, fd int, sender string) error {
	platform, source := cstring(req[:50]), cstring(req[50:100])
	level := Level(hostInt32(req[100:]))
	action := hostInt32(req[104:])
	if platform == "" {
		platform = sender
	}
	switch {
	case action == 0:
		if fd >= 0 {
			unix.Close(fd)
		}
		s.Unsubscribe(platform, source)
		return nil
	case action != 1:
		err := badf(ErrMalformed, "pv-fd-log: action %d", action)
		if fd >= 0 {
			unix.Close(fd)
		}
		return err
	case fd < 0:
		return badf(ErrMalformed, "pv-fd-log: subscribe %s/%s without a file descriptor", platform, source)
	}
	return s.subscribeFD(fd, platform, source, level, false)
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
