package unixsock

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/eintr"
)

// SockError is a failed socket call: the operation, the socket path and the
// errno (errors.Is(err, unix.ECONNREFUSED) works).
type SockError struct {
	Op   string
	Path string
	Err  error
}

func (e *SockError) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the errno.
func (e *SockError) Unwrap() error { return e.Err }

// backlog is the listen queue length.
const backlog = 128

// Listen binds a non-blocking AF_UNIX SOCK_STREAM socket at path, removing
// a stale socket first, sets the socket file's mode to perm (chmod, so the
// umask does not apply) and listens. The returned file is pollable:
// closing it wakes a blocked Accept. The caller removes path when done.
func Listen(path string, perm os.FileMode) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &SockError{"socket", path, err}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		unix.Close(fd)
		return nil, &SockError{"remove stale", path, err}
	}
	op := "bind"
	if err = unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err == nil {
		op = "chmod"
		if err = unix.Chmod(path, uint32(perm.Perm())); err == nil {
			op = "listen"
			err = unix.Listen(fd, backlog)
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &SockError{op, path, err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Accept waits for a connection on ln (from Listen) and returns it as a
// pollable file, with the peer's pid from SO_PEERCRED (0 if unknown).
// EINTR and ECONNABORTED are retried. A failed accept(2) is a *SockError
// (EMFILE: the caller may wait and retry); any other error means ln was
// closed.
func Accept(ln *os.File) (conn *os.File, pid int, err error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, 0, err
	}
	var nfd int
	var aerr error
	for {
		err = rc.Read(func(fd uintptr) bool {
			nfd, aerr = eintr.Value(func() (int, error) {
				n, _, err := unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
				return n, err
			})
			return aerr != unix.EAGAIN
		})
		if err != nil {
			return nil, 0, err
		}
		if aerr != unix.ECONNABORTED {
			break
		}
	}
	if aerr != nil {
		return nil, 0, &SockError{"accept", ln.Name(), aerr}
	}
	if cred, err := unix.GetsockoptUcred(nfd, unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
		pid = int(cred.Pid)
	}
	return os.NewFile(uintptr(nfd), ln.Name()), pid, nil
}

// Dial connects an AF_UNIX SOCK_STREAM socket to path and returns it as a
// pollable file (deadlines work). timeout bounds the wait when the
// server's backlog is full (EAGAIN then); 0 waits as long as it takes.
// Errors are *SockError, so errors.Is(err, unix.ENOENT) or
// unix.ECONNREFUSED tell why the server is unreachable.
func Dial(path string, timeout time.Duration) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &SockError{"socket", path, err}
	}
	if timeout > 0 {
		// A blocking connect waits for backlog room up to SO_SNDTIMEO.
		tv := unix.NsecToTimeval(max(timeout.Nanoseconds(), 1000))
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}
	op := "connect"
	err = eintr.Retry(func() error { return unix.Connect(fd, &unix.SockaddrUnix{Name: path}) })
	if err == nil {
		op = "set non-blocking"
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		unix.Close(fd)
		return nil, &SockError{op, path, err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// SendFD sends b with fd attached (SCM_RIGHTS) on a connected socket from
// Dial or Accept; fd < 0 sends b alone.
func SendFD(conn *os.File, b []byte, fd int) error {
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(s uintptr) bool {
		serr = eintr.Retry(func() error { return unix.Sendmsg(int(s), b, oob, nil, 0) })
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	if serr != nil {
		return &SockError{"sendmsg", conn.Name(), serr}
	}
	return nil
}

// RecvFDs reads into b from a pollable socket and returns the byte count
// and the file descriptors passed with SCM_RIGHTS (close-on-exec; at most
// four per call). n == 0 with a nil error is the end of the stream. A
// failed recvmsg(2) is a *SockError; other errors come from the poller
// (conn closed, deadline).
func RecvFDs(conn *os.File, b []byte) (n int, fds []int, err error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, nil, err
	}
	oob := make([]byte, unix.CmsgSpace(4*4))
	var oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), b, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, nil, err
	}
	if rerr != nil {
		return 0, nil, &SockError{"recvmsg", conn.Name(), rerr}
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	return n, fds, nil
}

// ShutdownWrite half-closes conn: the peer reads end of stream, and conn
// can still read.
func ShutdownWrite(conn *os.File) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return err
	}
	if serr != nil {
		return &SockError{"shutdown", conn.Name(), serr}
	}
	return nil
}

// Unread returns how many bytes wait in conn's receive queue (FIONREAD).
func Unread(conn *os.File) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
		return 0, err
	}
	if ierr != nil {
		return 0, &SockError{"ioctl SIOCINQ", conn.Name(), ierr}
	}
	return n, nil
}
