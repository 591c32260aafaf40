package hub

import (
	"cmp"
	"context"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/hubtest"
)

// countingDialer dials TCP and counts every byte each connection reads
// and writes: TLS records, handshakes included (the TCP payload a
// metered link carries; IP and TCP headers are not counted).
type countingDialer struct {
	mu    sync.Mutex
	conns []*countingConn
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	d.mu.Lock()
	d.conns = append(d.conns, cc)
	d.mu.Unlock()
	return cc, nil
}

// taken returns the connections dialled so far and forgets them.
func (d *countingDialer) taken() []*countingConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.conns
	d.conns = nil
	return c
}

type countingConn struct {
	net.Conn
	in, out atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// endpoint is one kind of request and its traffic.
type endpoint struct {
	name          string
	requests      int
	sent, receive int64
}

// endpointName is a request's method and path with what id matches (the
// device's id) replaced by <id>.
func endpointName(q hubtest.Request, id *regexp.Regexp) string {
	return q.Method + " " + id.ReplaceAllString(q.Path, "<id>")
}

func TestEndpointName(t *testing.T) {
	id := regexp.MustCompile(`[0-9a-f]{24}`)
	for path, want := range map[string]string{
		"/trails/5f0c1d2e3f4a5b6c7d8e9f01/steps": "GET /trails/<id>/steps",
		"/devices/5f0c1d2e3f4a5b6c7d8e9f01":      "GET /devices/<id>",
		"/auth/login":                            "GET /auth/login",
	} {
		require.Equal(t, want, endpointName(hubtest.Request{Method: "GET", Path: path}, id))
	}
}

// BenchmarkIdleTraffic counts what an idle device (registered, claimed,
// factory revision synced, default intervals) sends and receives in an
// hour: the agent is stepped once per DefaultTick of its fake clock for
// an hour of ticks against the fake hub, and every byte of every TCP
// connection is counted on the device's side (countingDialer: TLS
// handshakes included, IP/TCP headers not). hubhttp makes one connection
// per request, so the n-th connection is the n-th request the hub
// recorded; the traffic per endpoint is logged. The fake hub's tokens do
// not expire, so no login falls in the hour (pantahub-base's do, after
// hours). Reported: bytes and requests per hour.
func BenchmarkIdleTraffic(b *testing.B) {
	r := newRig(b, nil, "", true)
	dialer := &countingDialer{}
	r.opts.Client.Dialer = dialer
	r.restart()
	deviceID := r.idle()
	r.step(time.Hour) // past every timer of the way to idle
	id := regexp.MustCompile(regexp.QuoteMeta(deviceID))
	ticks := int(time.Hour / DefaultTick)
	byName := map[string]*endpoint{}
	var total endpoint
	b.ResetTimer()
	for range b.N {
		dialer.taken()
		first := len(r.hub.Requests())
		for range ticks {
			r.step(DefaultTick)
		}
		require.Equal(b, StateIdle, r.agent.State().State)
		conns, reqs := dialer.taken(), r.hub.Requests()[first:]
		require.Len(b, conns, len(reqs), "connections and requests do not pair up")
		for i, q := range reqs {
			name := endpointName(q, id)
			e := byName[name]
			if e == nil {
				e = &endpoint{name: name}
				byName[name] = e
			}
			for _, x := range []*endpoint{e, &total} {
				x.requests++
				x.sent += conns[i].out.Load()
				x.receive += conns[i].in.Load()
			}
		}
	}
	b.StopTimer()
	n := float64(b.N)
	for _, e := range sortedEndpoints(byName) {
		b.Logf("bench-hub: idle traffic: %-28s %6.0f requests/hour, %7.1f KB/hour (sent %.1f KB, received %.1f KB; %.0f B per request)",
			e.name, float64(e.requests)/n, float64(e.sent+e.receive)/n/1e3, float64(e.sent)/n/1e3, float64(e.receive)/n/1e3,
			float64(e.sent+e.receive)/float64(e.requests))
	}
	b.ReportMetric(float64(total.sent+total.receive)/n/1e3, "KB/hour")
	b.ReportMetric(float64(total.sent)/n/1e3, "KB-sent/hour")
	b.ReportMetric(float64(total.receive)/n/1e3, "KB-received/hour")
	b.ReportMetric(float64(total.requests)/n, "requests/hour")
}

// sortedEndpoints returns the endpoints by traffic, largest first.
func sortedEndpoints(m map[string]*endpoint) []*endpoint {
	out := make([]*endpoint, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *endpoint) int {
		if c := cmp.Compare(b.sent+b.receive, a.sent+a.receive); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}
