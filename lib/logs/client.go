package logs

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"time"

	"pantavisor/lib/unixsock"
)

// sendTimeout bounds a connect to a full backlog and a stalled send.
const sendTimeout = 5 * time.Second

// Client sends messages to a log server's pv-ctrl-log on one connection,
// each in the JSON format followed by a NUL byte, so that any number of
// messages share the connection. The server takes the platform from the
// client's cgroup.
type Client struct {
	conn *os.File
	buf  []byte
}

// Dial connects to the pv-ctrl-log socket at path, or in path when it is a
// directory (a run dir). Errors are *unixsock.SockError, so errors.Is(err,
// unix.ENOENT) or unix.ECONNREFUSED tell why the server is unreachable.
func Dial(path string) (*Client, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, CtrlSocketName)
	}
	c, err := unixsock.Dial(path, sendTimeout)
	if err != nil {
		return nil, err
	}
	return &Client{conn: c}, nil
}

// Send sends one message; msg may span several lines.
func (c *Client) Send(level Level, source, msg string) error {
	c.buf = append(AppendJSON(c.buf[:0], level, source, msg), 0)
	if err := c.conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return err
	}
	_, err := c.conn.Write(c.buf)
	return err
}

// Close closes the connection; the server logs what it received.
func (c *Client) Close() error { return c.conn.Close() }

// SubscribeFD asks the log server listening on the pv-fd-log socket at path
// to log what is read from f as platform/source at level (upstream's
// request: platform and source are cut to 49 bytes). f stays open here;
// the server holds its own copy.
func SubscribeFD(path string, f *os.File, platform, source string, level Level) error {
	return fdRequest(path, f, platform, source, level, 1)
}

// UnsubscribeFD asks the log server at path to stop logging platform/source.
func UnsubscribeFD(path string, platform, source string) error {
	return fdRequest(path, nil, platform, source, 0, 0)
}

func fdRequest(path string, f *os.File, platform, source string, level Level, action int32) error {
	var req [fdRequestSize]byte
	copy(req[:49], platform)
	copy(req[50:99], source)
	binary.NativeEndian.PutUint32(req[100:], uint32(level))
	binary.NativeEndian.PutUint32(req[104:], uint32(action))
	conn, err := unixsock.Dial(path, sendTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if f == nil {
		return unixsock.SendFD(conn, req[:], -1)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unixsock.SendFD(conn, req[:], int(fd)) }); err != nil {
		return err
	}
	return serr
}
