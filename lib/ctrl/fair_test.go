package ctrl

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/unixsock"
)

// hold opens n connections to the test server as caller and keeps them
// idle until the test ends. It returns once the server has accepted (and
// classified) all of them: accept is in order, so a request sent by caller
// afterwards is answered (or its connection closed) only then. It returns
// that request's status, 0 if its connection was closed without one.
func (ts *testServer) hold(t *testing.T, caller string, n int) int {
	t.Helper()
	ts.as(caller)
	for range n {
		c, err := unixsock.Dial(ts.Socket, 5*time.Second)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
	}
	c, err := unixsock.Dial(ts.Socket, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	io.WriteString(c, request("GET", "/containers", ""))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, unix.ECONNRESET) {
		require.NoError(t, err)
	}
	if len(b) == 0 {
		return 0
	}
	code, _, _ := parsed(t, string(b))
	return code
}

// getBefore sends GET target from the current caller and returns the
// status; the whole exchange must end before deadline.
func (ts *testServer) getBefore(t *testing.T, target string, deadline time.Time) int {
	t.Helper()
	c, err := unixsock.Dial(ts.Socket, time.Until(deadline))
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(deadline))
	_, err = io.WriteString(c, request("GET", target, ""))
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err, "answered before the deadline")
	code, _, _ := parsed(t, string(b))
	return code
}

// TestContainerCannotLockOut: a non-mgmt container holding 300 idle
// connections (more than the whole cap of 256) keeps only its own share;
// the host (_pv_) and mgmt containers still get GET /containers answered
// within a deadline.
func TestContainerCannotLockOut(t *testing.T) {
	ts := newTestServer(t)
	assert.Contains(t, []int{0, 503}, ts.hold(t, "plain", 300), "plain is over its cap: refused")
	for _, caller := range []string{"", "mgmt", "drv"} {
		ts.as(caller)
		assert.Equal(t, 200, ts.getBefore(t, "/containers", time.Now().Add(5*time.Second)), "caller %q", caller)
	}
}

// TestContainersCannotLockOut: many non-mgmt containers together fill the
// slots that are not reserved; then a new container is refused, and the
// host and mgmt still get their reserved slots.
func TestContainersCannotLockOut(t *testing.T) {
	ts := newTestServer(t)
	for _, name := range []string{"plain", "ready", "x1", "x2", "x3", "x4", "x5"} {
		ts.hold(t, name, 40)
	}
	ts.as("x6")
	assert.Equal(t, 503, ts.getBefore(t, "/containers", time.Now().Add(5*time.Second)),
		"the slots other containers may take are full")
	for _, caller := range []string{"", "mgmt", "drv"} {
		ts.as(caller)
		assert.Equal(t, 200, ts.getBefore(t, "/containers", time.Now().Add(5*time.Second)), "caller %q", caller)
	}
}
