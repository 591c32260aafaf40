package logs

import (
	"bytes"
	"cmp"
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxLine is the longest line kept waiting for its '\n'; a longer one is
// logged in pieces.
const maxLine = 4096

// Subscribe logs what is read from f, line by line, as platform/source at
// level, until f reaches its end, Unsubscribe or Close. The server owns f
// from then on (f is closed, its descriptor duplicated and made
// non-blocking, so that pipes, ptys and sockets can be stopped). Lines are
// written as they come, raw for a container ("lxc/console.log"), in the
// pantavisor format for platform "pantavisor". A second subscription of the
// same platform/source replaces the first.
func (s *Server) Subscribe(f *os.File, platform, source string, level Level) error {
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	nfd, derr := -1, error(nil)
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return err
	}
	if derr != nil {
		return &os.PathError{Op: "dup", Path: f.Name(), Err: derr}
	}
	return s.subscribeFD(nfd, platform, source, level, false)
}

// Capture subscribes the kernel log (Kmsg, default /dev/kmsg) as
// pantavisor/dmesg: each record "<prio>,<seq>,<usec>,<flags>;<text>" becomes
// "[<sec.usec>] <text>" at the level of its syslog priority, and the
// records' continuation lines are dropped.
func (s *Server) Capture() error {
	path := cmp.Or(s.Kmsg, "/dev/kmsg")
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	return s.subscribeFD(fd, Pantavisor, "dmesg", Info, true)
}

// Unsubscribe stops the subscription platform/source and reports whether
// there was one. Lines already read are logged.
func (s *Server) Unsubscribe(platform, source string) bool {
	src, err := cleanSource(source)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.subs[platform+"/"+src]
	if f != nil {
		f.Close()
		delete(s.subs, platform+"/"+src)
	}
	return f != nil
}

// subscribeFD takes ownership of fd and starts its reader goroutine.
func (s *Server) subscribeFD(fd int, platform, source string, level Level, kmsg bool) error {
	src, err := cleanSource(source)
	if err == nil {
		err = checkPlatform(platform)
	}
	if err == nil && !level.Valid() {
		err = badf(ErrBadLevel, "subscribe %s/%s: %d", platform, source, int(level))
	}
	if err == nil {
		err = setNonblock(fd)
	}
	if err != nil {
		unix.Close(fd)
		return err
	}
	key := platform + "/" + src
	f := os.NewFile(uintptr(fd), key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateStarted {
		f.Close()
		if s.state == stateNew {
			return ErrNotStarted
		}
		return ErrClosed
	}
	if old := s.subs[key]; old != nil {
		old.Close()
	}
	s.subs[key] = f
	s.wg.Add(1)
	go s.readFD(f, key, Message{Proto: Raw, Level: level, Platform: platform, Source: src}, kmsg)
	return nil
}

// readFD logs the complete lines of each read from f (a partial line
// waits for its end, up to maxLine), then the rest at the end.
func (s *Server) readFD(f *os.File, key string, tmpl Message, kmsg bool) {
	defer s.wg.Done()
	buf := make([]byte, 0, 2*maxLine)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && errors.Is(err, syscall.EPIPE) && kmsg {
			continue // kmsg records were overwritten before we read them
		}
		end := bytes.LastIndexByte(buf, '\n') + 1
		if err != nil || (end == 0 && len(buf) >= maxLine) {
			if end = len(buf); end > 0 && buf[end-1] != '\n' {
				buf = append(buf, '\n')
				end++
			}
		}
		if end > 0 {
			s.logLines(tmpl, buf[:end], kmsg)
			buf = buf[:copy(buf, buf[end:])]
		}
		if err != nil {
			break
		}
	}
	s.mu.Lock()
	if s.subs[key] == f {
		delete(s.subs, key)
	}
	s.mu.Unlock()
	f.Close()
}

// logLines logs complete lines read from a subscription.
func (s *Server) logLines(tmpl Message, lines []byte, kmsg bool) {
	if !kmsg {
		m := tmpl
		m.Data = lines
		s.report(s.emit(&m))
		return
	}
	splitLines(lines, func(line []byte) {
		m := tmpl
		if m.Level, m.Data = kmsgLine(line); m.Data != nil {
			s.report(s.emit(&m))
		}
	})
}

// kmsgLine formats one line of /dev/kmsg: "6,339,5140900,-;text" becomes
// level Info and "[    5.140900] text". Continuation lines (" KEY=value")
// give nil; a line without a record header is kept as is at Info.
func kmsgLine(line []byte) (Level, []byte) {
	if line[0] == ' ' {
		return Info, nil
	}
	semi := bytes.IndexByte(line, ';')
	if semi < 0 {
		return Info, line
	}
	f := bytes.SplitN(line[:semi], []byte{','}, 4)
	if len(f) < 3 {
		return Info, line
	}
	prio, err1 := strconv.Atoi(string(f[0]))
	usec, err2 := strconv.ParseInt(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil || prio < 0 || usec < 0 {
		return Info, line
	}
	sec := strconv.FormatInt(usec/1e6, 10) + "." + string(pad(nil, int(usec%1e6), 6, '0'))
	out := []byte{'['}
	for i := len(sec); i < 12; i++ {
		out = append(out, ' ')
	}
	out = append(out, sec...)
	out = append(out, "] "...)
	return SyslogLevel(prio), append(out, line[semi+1:]...)
}
