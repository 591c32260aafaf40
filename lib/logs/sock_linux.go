package logs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
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

// listenUnix binds a non-blocking AF_UNIX SOCK_STREAM socket at path
// (removing a stale one first), makes it connectable by everyone (0666:
// containers' non-root processes log too) and listens. The returned file is
// pollable: closing it wakes a blocked accept.
func listenUnix(path string) (*os.File, error) {
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
		if err = unix.Chmod(path, 0o666); err == nil {
			op = "listen"
			err = unix.Listen(fd, 128)
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &SockError{op, path, err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// accept waits for a connection on ln and returns it as a pollable file
// with the peer's pid from SO_PEERCRED. EINTR and ECONNABORTED are retried;
// an error from the poller (ln closed) is returned as is.
func accept(ln *os.File) (*os.File, int, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, 0, err
	}
	var nfd int
	var aerr error
	for {
		err = rc.Read(func(fd uintptr) bool {
			nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			return aerr != unix.EAGAIN
		})
		if err != nil {
			return nil, 0, err
		}
		if aerr != unix.EINTR && aerr != unix.ECONNABORTED {
			break
		}
	}
	if aerr != nil {
		return nil, 0, &SockError{"accept", ln.Name(), aerr}
	}
	pid := 0
	if cred, err := unix.GetsockoptUcred(nfd, unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
		pid = int(cred.Pid)
	}
	return os.NewFile(uintptr(nfd), ln.Name()), pid, nil
}

// recvFDs reads into b from a pollable socket and returns the byte count
// and the file descriptors passed with SCM_RIGHTS (close-on-exec). n == 0
// with a nil error is the end of the stream.
func recvFDs(f *os.File, b []byte) (n int, fds []int, err error) {
	rc, err := f.SyscallConn()
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
		return 0, nil, &SockError{"recvmsg", f.Name(), rerr}
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	return n, fds, nil
}

// dialUnix connects a blocking AF_UNIX SOCK_STREAM socket to path, with a
// 5 s send timeout (which also bounds connect on a full backlog).
func dialUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &SockError{"socket", path, err}
	}
	tv := unix.Timeval{Sec: 5}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, &SockError{"connect", path, err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// sendFD sends b with fd attached (SCM_RIGHTS) on a connected socket; fd < 0
// sends b alone.
func sendFD(conn *os.File, b []byte, fd int) error {
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
		for {
			serr = unix.Sendmsg(int(s), b, oob, nil, 0)
			if serr != unix.EINTR {
				return true
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &SockError{"sendmsg", conn.Name(), serr}
	}
	return nil
}

// setNonblock puts fd in non-blocking mode so that os.NewFile makes it
// pollable (a pipe, pty or socket; a regular file stays a plain file).
func setNonblock(fd int) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return fmt.Errorf("set O_NONBLOCK on fd %d: %w", fd, err)
	}
	return nil
}
