package unixsock

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestListenAcceptDial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	require.NoError(t, os.WriteFile(path, nil, 0o600)) // a stale file is replaced
	ln, err := Listen(path, 0o666)
	require.NoError(t, err)
	defer ln.Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSocket|0o666, fi.Mode()&(os.ModeSocket|os.ModePerm))

	c, err := Dial(path, time.Second)
	require.NoError(t, err)
	defer c.Close()
	s, pid, err := Accept(ln)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, os.Getpid(), pid)

	n, err := Unread(s)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = c.Write([]byte("ping"))
	require.NoError(t, err)
	n, err = Unread(s)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	require.NoError(t, ShutdownWrite(c))
	got, err := io.ReadAll(s)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(got))

	require.NoError(t, s.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err = s.Read(make([]byte, 1))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "accepted sockets are pollable")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "dialled sockets are pollable")
}

func TestDialErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		setup func(path string)
		errno unix.Errno
	}{
		{"missing", func(string) {}, unix.ENOENT},
		{"not a socket", func(p string) { os.WriteFile(p, nil, 0o600) }, unix.ECONNREFUSED},
		{"no listener", func(p string) {
			ln, err := Listen(p, 0o600)
			require.NoError(t, err)
			ln.Close()
		}, unix.ECONNREFUSED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			tt.setup(path)
			_, err := Dial(path, time.Second)
			var se *SockError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, "connect", se.Op)
			assert.ErrorIs(t, err, tt.errno)
			assert.Contains(t, err.Error(), path)
		})
	}
}

func TestAcceptAfterClose(t *testing.T) {
	ln, err := Listen(filepath.Join(t.TempDir(), "s"), 0o600)
	require.NoError(t, err)
	done := make(chan error)
	go func() { _, _, err := Accept(ln); done <- err }()
	ln.Close()
	err = <-done
	require.Error(t, err)
	var se *SockError
	assert.False(t, errors.As(err, &se), "a closed listener is not a SockError")
}

func TestSendRecvFD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := Listen(path, 0o600)
	require.NoError(t, err)
	defer ln.Close()
	c, err := Dial(path, 0)
	require.NoError(t, err)
	defer c.Close()
	s, _, err := Accept(ln)
	require.NoError(t, err)
	defer s.Close()

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	require.NoError(t, SendFD(c, []byte("fd"), int(w.Fd())))
	require.NoError(t, SendFD(c, []byte("no"), -1))
	buf := make([]byte, 2)
	n, fds, err := RecvFDs(s, buf)
	require.NoError(t, err)
	require.Len(t, fds, 1)
	assert.Equal(t, "fd", string(buf[:n]))
	got := os.NewFile(uintptr(fds[0]), "passed")
	defer got.Close()
	_, err = got.Write([]byte("x"))
	require.NoError(t, err)
	one := make([]byte, 1)
	_, err = r.Read(one)
	require.NoError(t, err)
	assert.Equal(t, "x", string(one))

	n, fds, err = RecvFDs(s, buf)
	require.NoError(t, err)
	assert.Empty(t, fds)
	assert.Equal(t, "no", string(buf[:n]))
	c.Close()
	n, _, err = RecvFDs(s, buf)
	require.NoError(t, err)
	assert.Zero(t, n, "end of stream")
}
