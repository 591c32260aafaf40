package hubtest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// UserPRN is the owner that Claim and a valid auto-token give a device.
const UserPRN = "prn:pantahub.com:auth:/user1"

// ErrNotFound is returned by the test-side methods for an unknown device,
// step or object.
var ErrNotFound = errors.New("not found")

// ErrBadStep is returned by PostStep when step rev-1 does not exist or
// step rev already does.
var ErrBadStep = errors.New("step out of sequence")

// ErrMissingObject is returned by PostStep when the state names an object
// the hub does not have.
var ErrMissingObject = errors.New("state names an object the hub does not have")

// Options configures a Hub. The zero value listens on 127.0.0.1 with a
// random port and writes its CA into a temporary directory.
type Options struct {
	// Addr is the TCP address to listen on; "" means "127.0.0.1:0".
	Addr string
	// CertDir receives ca.pem; "" means a temporary directory that Close
	// removes.
	CertDir string
	// Names are extra IPs or DNS names for the server certificate besides
	// 127.0.0.1, ::1 and localhost (e.g. 10.0.2.2 for a QEMU guest).
	Names []string
	// PublicAddr is the "host:port" put into signed object URLs; "" means
	// the request's Host header, with the listener's IP if it is empty and
	// the listener's port if it has none.
	PublicAddr string
	// AutoToken is the factory auto-token (PH_FACTORY_AUTOTOK) that
	// registration accepts; "" accepts none. See also Hub.AutoToken.
	AutoToken string
}

// Hub is a running fake hub. Its methods are safe for concurrent use; the
// state and the faults sit behind one mutex.
type Hub struct {
	opts    Options
	caFile  string
	tmpDir  string
	cert    tls.Certificate
	ln      net.Listener
	srv     *http.Server
	serveCh chan error

	mu       sync.Mutex
	st       state
	faults   faults
	requests []Request
	held     []net.Conn
	refused  int
}

// New generates the CA and the server certificate and prepares the state;
// Start then listens. Close releases what New created.
func New(opts Options) (*Hub, error) {
	h := &Hub{opts: opts, st: newState()}
	h.st.autoToken = opts.AutoToken
	dir := opts.CertDir
	if dir == "" {
		d, err := os.MkdirTemp("", "hubtest-")
		if err != nil {
			return nil, fmt.Errorf("creating cert dir: %w", err)
		}
		dir, h.tmpDir = d, d
	}
	cert, caFile, err := newCerts(dir, opts.Names)
	if err != nil {
		return nil, errors.Join(err, h.Close())
	}
	h.cert, h.caFile = cert, caFile
	return h, nil
}

// Start listens on Options.Addr and serves TLS (HTTP/1.0 and 1.1, no h2)
// in a goroutine until Close.
func (h *Hub) Start() error {
	addr := h.opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	h.ln = ln
	cfg := &tls.Config{Certificates: []tls.Certificate{h.cert}, NextProtos: []string{"http/1.1"}}
	h.srv = &http.Server{Handler: http.HandlerFunc(h.serveHTTP), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0)}
	h.serveCh = make(chan error, 1)
	go func() { h.serveCh <- h.srv.Serve(tls.NewListener(&faultListener{Listener: ln, hub: h}, cfg)) }()
	return nil
}

// Start is New then Start, for a test: it fails t on error and closes the
// hub when the test ends.
func Start(t testing.TB, opts Options) *Hub {
	t.Helper()
	h, err := New(opts)
	if err != nil {
		t.Fatalf("hubtest: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("hubtest: closing: %v", err)
		}
	})
	if err := h.Start(); err != nil {
		t.Fatalf("hubtest: %v", err)
	}
	return h
}

// Close stops the server, closes held connections and removes the
// temporary cert dir. It may be called more than once.
func (h *Hub) Close() error {
	h.Release()
	var err error
	if h.srv != nil {
		err = h.srv.Close()
		if serr := <-h.serveCh; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		h.srv = nil
	}
	if h.tmpDir != "" {
		err = errors.Join(err, os.RemoveAll(h.tmpDir))
		h.tmpDir = ""
	}
	return err
}

// CAFile is the path of the PEM file holding the test CA that signed the
// server certificate.
func (h *Hub) CAFile() string { return h.caFile }

// Addr is the "host:port" the hub listens on (after Start).
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// Host is the IP the hub listens on (after Start).
func (h *Hub) Host() string {
	host, _, _ := net.SplitHostPort(h.Addr())
	return host
}

// Port is the TCP port the hub listens on (after Start).
func (h *Hub) Port() int { return h.ln.Addr().(*net.TCPAddr).Port }

// URL is "https://host:port" of the hub (after Start).
func (h *Hub) URL() string { return "https://" + h.Addr() }

// publicAddr is the host:port for signed URLs given a request's Host.
func (h *Hub) publicAddr(reqHost string) string {
	if h.opts.PublicAddr != "" {
		return h.opts.PublicAddr
	}
	host, port := reqHost, strconv.Itoa(h.Port())
	if hh, pp, err := net.SplitHostPort(reqHost); err == nil {
		host, port = hh, pp
	}
	host = strings.Trim(host, "[]")
	if host == "" {
		host = h.Host()
	}
	return net.JoinHostPort(host, port)
}
