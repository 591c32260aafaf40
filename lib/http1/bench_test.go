package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/unixsock"
)

// containersJSON is a ~300-byte GET /containers answer.
var containersJSON = []byte(`[{"name":"pv-avahi","group":"platform","status":"STARTED","status_goal":"STARTED","restart_policy":"container"},` +
	`{"name":"pvr-sdk","group":"platform","status":"STARTED","status_goal":"STARTED","restart_policy":"container"},` +
	`{"name":"os","group":"root","status":"READY","status_goal":"READY","restart_policy":"system"}]`)

// oursServer serves containersJSON with this package.
func oursServer(tb testing.TB) string {
	_, path := serve(tb, func(w *Response, r *Request) { w.Send(200, "application/json", containersJSON) }, nil)
	return path
}

// netHTTPServer serves containersJSON with a minimal net/http server.
func netHTTPServer(tb testing.TB) string {
	path := filepath.Join(tb.TempDir(), "pv-ctrl")
	ln, err := net.Listen("unix", path)
	require.NoError(tb, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(containersJSON)
	})}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return path
}

// rawClient is the same minimal client for both servers, so that the
// figures compare the servers.
type rawClient struct {
	path string
	keep bool
	f    *os.File
	br   *bufio.Reader
}

const (
	getKeep  = "GET /containers HTTP/1.1\r\nHost: localhost\r\n\r\n"
	getClose = "GET /containers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
)

// get sends one GET /containers and reads the whole answer.
func (c *rawClient) get() error {
	if c.f == nil {
		f, err := unixsock.Dial(c.path, time.Second)
		if err != nil {
			return err
		}
		c.f, c.br = f, bufio.NewReaderSize(f, bufSize)
	}
	req := getClose
	if c.keep {
		req = getKeep
	}
	if _, err := c.f.Write([]byte(req)); err != nil {
		return err
	}
	resp, err := readResponse(c.br, "GET")
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil || !c.keep {
		c.close()
	}
	return err
}

func (c *rawClient) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

func benchGet(b *testing.B, path string) {
	for _, keep := range []bool{true, false} {
		name := "newconn"
		if keep {
			name = "keepalive"
		}
		b.Run(name, func(b *testing.B) {
			c := &rawClient{path: path, keep: keep}
			defer c.close()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.get(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetOurs(b *testing.B)    { benchGet(b, oursServer(b)) }
func BenchmarkGetNetHTTP(b *testing.B) { benchGet(b, netHTTPServer(b)) }

// TestLatencyReport prints p50 and p99 request latencies of both servers
// (go test -run TestLatencyReport -v); it asserts nothing about time.
func TestLatencyReport(t *testing.T) {
	const n = 2000
	servers := []struct {
		name string
		path string
	}{{"ours", oursServer(t)}, {"net/http", netHTTPServer(t)}}
	for _, s := range servers {
		for _, keep := range []bool{true, false} {
			c := &rawClient{path: s.path, keep: keep}
			lat := make([]time.Duration, n)
			for i := range lat {
				start := time.Now()
				require.NoError(t, c.get())
				lat[i] = time.Since(start)
			}
			c.close()
			slices.Sort(lat)
			mode := map[bool]string{true: "keep-alive", false: "new conn"}[keep]
			t.Logf("%-8s %-10s p50 %8v  p99 %8v", s.name, mode, lat[n/2], lat[n*99/100])
		}
	}
	require.True(t, strings.HasPrefix(string(containersJSON), "["))
}
