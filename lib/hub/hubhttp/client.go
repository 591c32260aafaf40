package hubhttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/http1"
	"pantavisor/lib/printf"
	"pantavisor/lib/tcpdial"
)

// Defaults of the Client fields.
const (
	DefaultPort      = 443
	DefaultProxyPort = 3218 // upstream's PH_CREDS_PROXY_PORT default
	DefaultTimeout   = 60 * time.Second
	// MaxBody is the hub client's limit for API response bodies
	// (upstream's BODY_MAX_LEN, 1 << 21).
	MaxBody = 2 << 20
)

// Dialer opens TCP connections; *tcpdial.Dialer is the default (package
// net's dialer would link its resolver: README "Size budget").
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Client sends requests to one hub, each on a new TLS connection
// (HTTP/1.1, "Connection: close"). The zero value of every field but
// Host means its default. A Client holds no state between requests:
// copying it is fine, and it may be used by several goroutines at once.
type Client struct {
	Host string // hub host name or IP: dial address, SNI, certificate name, Host header
	Port int    // 0: 443

	// CAFile is a PEM bundle or a directory of *.crt/*.pem bundles ("":
	// /certs, upstream's PV_LIBTHTTP_CERTSDIR), read at every request
	// unless Roots is set. Roots, when set, is used instead (load it once
	// with LoadCA).
	CAFile string
	Roots  *x509.CertPool
	// Insecure skips the verification of the hub's certificate chain and
	// name, as upstream's async client always does. For development hubs
	// only: anyone on the path can then impersonate the hub.
	Insecure bool

	// ProxyHost, when set, is an HTTP proxy (ProxyPort 0: 3218). The
	// client asks it for a tunnel with "CONNECT host:port HTTP/1.1" and
	// runs TLS to the hub through the tunnel. With NoProxyConnect it
	// sends no CONNECT and runs TLS (SNI and verification still for
	// Host) directly with the proxy address, as upstream's async client
	// does: for a transparent TLS forwarder.
	ProxyHost      string
	ProxyPort      int
	NoProxyConnect bool

	// Timeout bounds the connect (proxy included), TLS handshake, the
	// request and the response head; then each read of the body must
	// make progress within it (a download may last longer, a stalled one
	// fails). 0: 60 s. A context deadline, if earlier, wins.
	Timeout time.Duration

	UserAgent string // sent as User-Agent when set; see UserAgent()
	Token     string // sent as "Authorization: Bearer <Token>" when set

	Dialer Dialer // nil: &tcpdial.Dialer{}
}

// UserAgent returns upstream's User-Agent: "Pantavisor/2 (Linux; <arch>)
// PV/<version> Date/<date>". pantahub-base refuses login and anonymous
// registration without one.
func UserAgent(arch, version, date string) string {
	return "Pantavisor/2 (Linux; " + arch + ") PV/" + version + " Date/" + date
}

// Response is a response with its body unread. The caller must close
// Body (which closes the connection), or call ReadBody or Expect.
type Response struct {
	Status        int
	Header        http1.Header
	ContentLength int64 // -1: chunked or until close
	Body          io.ReadCloser
	op            string
}

// Expect returns nil if the status is one of ok (none given: 200).
// Otherwise it closes Body and returns a *StatusError.
func (r *Response) Expect(ok ...int) error {
	if len(ok) == 0 {
		ok = []int{200}
	}
	for _, s := range ok {
		if r.Status == s {
			return nil
		}
	}
	r.Body.Close()
	return &StatusError{Op: r.op, Status: r.Status}
}

// ReadBody reads and closes r's body. A body over max bytes is refused
// with ErrBodyTooLarge (before reading, when Content-Length says so).
func ReadBody(r *Response, max int64) ([]byte, error) {
	defer r.Body.Close()
	if r.ContentLength > max {
		return nil, printf.Errorf("hubhttp: %s: %d bytes over %d: %w", r.op, r.ContentLength, max, ErrBodyTooLarge)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, printf.Errorf("hubhttp: %s: body over %d bytes: %w", r.op, max, ErrBodyTooLarge)
	}
	return b, nil
}

// Do sends a request to the hub with a JSON body (nil: none; with a body
// the request carries "Content-Type: application/json"). extra adds
// header fields; User-Agent and Authorization come from the Client.
// Any response is returned, whatever its status (see Expect); an error
// that got no response is a *NetError (errors.Is(err, ErrNoResponse)).
func (c *Client) Do(ctx context.Context, method, path string, body []byte, extra http1.Header) (*Response, error) {
	h := append(http1.Header(nil), extra...)
	var r io.Reader
	if body != nil {
		h.Set("Content-Type", "application/json")
		r = bytes.NewReader(body)
	}
	return c.Send(ctx, method, path, h, r, int64(len(body)))
}

// Send is Do with a streamed body of length bytes (-1: chunked; 0 and
// nil: none); the caller sets its Content-Type in h.
func (c *Client) Send(ctx context.Context, method, path string, h http1.Header, body io.Reader, length int64) (*Response, error) {
	return c.roundTrip(ctx, method+" "+path, method, path, h, body, length)
}

// roundTrip runs one exchange; op names it in errors (never a token or
// a signed URL). Steps: connect (through the proxy), TLS handshake,
// request, response head under one deadline; then the body reads get an
// idle deadline each, and closing the body closes the connection.
func (c *Client) roundTrip(ctx context.Context, op, method, target string, h http1.Header, body io.Reader, length int64) (*Response, error) {
	addr := net.JoinHostPort(c.Host, strconv.Itoa(or(c.Port, DefaultPort)))
	if !validHost(c.Host) {
		return nil, printf.Errorf("hubhttp: %s: invalid host %q", op, c.Host)
	}
	if !strings.HasPrefix(target, "/") || !visible(method) || !visible(target) {
		return nil, printf.Errorf("hubhttp: %s: invalid request line", op) // local: not "no response"
	}
	cfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	timeout := c.timeout()
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := c.connect(dctx, addr, deadline)
	if err != nil {
		return nil, &NetError{op, addr, err}
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(dctx); err != nil {
		raw.Close()
		return nil, &NetError{op, addr, err}
	}
	stop := context.AfterFunc(ctx, func() { _ = tc.SetDeadline(time.Unix(1, 0)) }) // unblock on cancel
	r, err := http1.Exchange(tc, hostHeader(c.Host), method, target, c.header(h), body, length)
	if err != nil {
		stop()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &NetError{op, addr, err}
	}
	b := &connBody{rc: r.Body, conn: tc, ctx: ctx, idle: timeout, stop: stop, op: op, addr: addr}
	return &Response{Status: r.Status, Header: r.Header, ContentLength: r.ContentLength, Body: b, op: op}, nil
}

// header returns h with User-Agent and Authorization from the Client.
func (c *Client) header(h http1.Header) http1.Header {
	h = append(http1.Header(nil), h...)
	if c.UserAgent != "" {
		h.Set("User-Agent", c.UserAgent)
	}
	if c.Token != "" {
		h.Set("Authorization", "Bearer "+c.Token)
	}
	return h
}

// tlsConfig verifies Host against Roots, or the CA files, unless Insecure.
func (c *Client) tlsConfig() (*tls.Config, error) {
	// X25519 first: Go's default ClientHello also carries a hybrid
	// post-quantum key share (X25519MLKEM768, about 1.2 KB each way), and
	// every request is a new connection, so on an idle device it more
	// than doubles the traffic of a metered link (make bench-hub measured
	// 6,138 against 2,804 KB per hour). P-256 stays for hubs without
	// X25519.
	cfg := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
	if c.Insecure {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	cfg.RootCAs = c.Roots
	if cfg.RootCAs == nil {
		p, err := LoadCA(orString(c.CAFile, DefaultCAPath))
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = p
	}
	return cfg, nil
}

// connect dials addr, or the proxy and (unless NoProxyConnect) a CONNECT
// tunnel to addr. The connection's deadline is set.
func (c *Client) connect(ctx context.Context, addr string, deadline time.Time) (net.Conn, error) {
	d := c.Dialer
	if d == nil {
		d = &tcpdial.Dialer{}
	}
	if c.ProxyHost == "" {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.SetDeadline(deadline)
		}
		return conn, err
	}
	paddr := net.JoinHostPort(c.ProxyHost, strconv.Itoa(or(c.ProxyPort, DefaultProxyPort)))
	conn, err := d.DialContext(ctx, "tcp", paddr)
	if err != nil {
		return nil, printf.Errorf("proxy %s: %w", paddr, err)
	}
	_ = conn.SetDeadline(deadline)
	if c.NoProxyConnect {
		return conn, nil
	}
	if err := proxyConnect(conn, addr, c.UserAgent); err != nil {
		conn.Close()
		return nil, printf.Errorf("proxy %s: %w", paddr, err)
	}
	return conn, nil
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// validHost refuses an empty host and one with bytes that would break
// the request head or an address.
func validHost(h string) bool {
	return visible(h) && !strings.Contains(h, "/")
}

// visible reports whether s is non-empty printable ASCII without spaces.
func visible(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}

// hostHeader brackets an IPv6 literal.
func hostHeader(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// connBody is a response body on a TLS connection: each read gets an
// idle deadline, a cancelled context stops it, Close closes the
// connection. A read failure other than the end is a *NetError.
type connBody struct {
	rc   io.ReadCloser
	conn net.Conn
	ctx  context.Context
	idle time.Duration
	stop func() bool
	op   string
	addr string
}

func (b *connBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, &NetError{b.op + " body", b.addr, err}
	}
	_ = b.conn.SetReadDeadline(time.Now().Add(b.idle))
	if err := b.ctx.Err(); err != nil { // cancelled while the deadline was set
		return 0, &NetError{b.op + " body", b.addr, err}
	}
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = &NetError{b.op + " body", b.addr, err}
	}
	return n, err
}

// Close closes the connection.
func (b *connBody) Close() error {
	b.stop()
	return b.rc.Close()
}
