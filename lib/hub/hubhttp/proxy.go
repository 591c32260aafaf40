package hubhttp

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"pantavisor/lib/printf"
)

// maxProxyHead bounds a proxy's answer to CONNECT.
const maxProxyHead = 8 << 10

// proxyConnect asks the proxy on conn for a tunnel to addr and reads its
// answer head; any 2xx opens the tunnel.
func proxyConnect(conn io.ReadWriter, addr, userAgent string) error {
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if userAgent != "" {
		req += "User-Agent: " + userAgent + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		return err
	}
	head, err := readHead(conn, maxProxyHead)
	if err != nil {
		return err
	}
	st, err := connectStatus(head)
	if err != nil {
		return err
	}
	if st < 200 || st > 299 {
		return printf.Errorf("%w: status %d", ErrProxy, st)
	}
	return nil
}

// readHead reads a response head up to and including its blank line,
// one byte at a time so that no byte of the tunnel is consumed.
func readHead(r io.Reader, max int) ([]byte, error) {
	var b []byte
	c := make([]byte, 1)
	for len(b) < max {
		if _, err := io.ReadFull(r, c); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		b = append(b, c[0])
		if bytes.HasSuffix(b, []byte("\n\r\n")) || bytes.HasSuffix(b, []byte("\n\n")) {
			return b, nil
		}
	}
	return nil, printf.Errorf("%w: answer head over %d bytes", ErrProxy, max)
}

// connectStatus returns the status of a head's "HTTP/1.x NNN reason" line.
func connectStatus(head []byte) (int, error) {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, printf.Errorf("%w: bad status line %q", ErrProxy, line)
	}
	code := line[9:12]
	for _, d := range code {
		if d < '0' || d > '9' {
			return 0, printf.Errorf("%w: bad status line %q", ErrProxy, line)
		}
	}
	n, _ := strconv.Atoi(string(code))
	return n, nil
}
