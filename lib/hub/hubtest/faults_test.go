package hubtest

import (
	"bytes"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addObject adds data to the hub and returns its sha and signed GET path.
func addObject(t *testing.T, h *Hub, c *client, data []byte) (string, string) {
	t.Helper()
	s := h.AddObject(data)
	code, b := c.req("GET", "/objects/"+s, nil)
	require.Equal(t, 200, code, "%s", b)
	u, err := url.Parse(jsonOf[map[string]any](t, b)["signed-geturl"].(string))
	require.NoError(t, err)
	return s, u.Path
}

func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestRange(t *testing.T) {
	h := Start(t, Options{})
	c, _ := synced(t, h)
	data := testData(100000)
	s, path := addObject(t, h, c, data)

	resp, err := c.try("GET", path, nil, "Range", "bytes=60000-")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, 206, resp.StatusCode)
	assert.Equal(t, "bytes 60000-99999/100000", resp.Header.Get("Content-Range"))
	assert.Equal(t, data[60000:], b)
	assert.EqualValues(t, 40000, h.BytesServed(s))

	code, _ := c.req("GET", path, nil, "Range", "bytes=100000-")
	assert.Equal(t, 416, code)
	code, b = c.req("GET", path, nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, data, b)
	assert.EqualValues(t, 140000, h.BytesServed(s))
}

func TestDropObject(t *testing.T) {
	h := Start(t, Options{})
	c, _ := synced(t, h)
	data := testData(200000)
	s, path := addObject(t, h, c, data)

	// Once: the first download is cut after 50000 bytes, a resume finishes.
	h.DropObject(s, 50000, false)
	resp, err := c.try("GET", path, nil)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Equal(t, data[:50000], got)
	code, rest := c.req("GET", path, nil, "Range", "bytes=50000-")
	require.Equal(t, 206, code)
	assert.Equal(t, sha(data), sha(append(got, rest...)))
	assert.EqualValues(t, 200000, h.BytesServed(s))

	// Every time: each response is cut after 30000 bytes of its own body.
	h.DropObject(s, 30000, true)
	for i := 0; i < 2; i++ {
		resp, err = c.try("GET", path, nil, "Range", "bytes=100000-")
		require.NoError(t, err)
		got, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Error(t, err)
		assert.Equal(t, data[100000:130000], got)
	}
	h.ClearFaults()
	code, got = c.req("GET", path, nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, data, got)
}

func TestCorruptObject(t *testing.T) {
	h := Start(t, Options{})
	c, _ := synced(t, h)
	data := testData(5000)
	s, path := addObject(t, h, c, data)
	h.CorruptObject(s, true)
	code, got := c.req("GET", path, nil)
	require.Equal(t, 200, code)
	assert.Len(t, got, len(data))
	assert.NotEqual(t, s, sha(got))
	assert.Equal(t, data, h.Object(s), "the stored object is unchanged")
	h.CorruptObject(s, false)
	_, got = c.req("GET", path, nil)
	assert.Equal(t, s, sha(got))
}

func TestThrottle(t *testing.T) {
	h := Start(t, Options{})
	c, _ := synced(t, h)
	data := testData(3000)
	_, path := addObject(t, h, c, data)
	h.Throttle(10000) // 1000 bytes per 100 ms: three chunks
	start := time.Now()
	code, got := c.req("GET", path, nil)
	require.Equal(t, 200, code)
	assert.Equal(t, data, got)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
}

func TestRefuse(t *testing.T) {
	h := Start(t, Options{})
	c := newClient(t, h)
	h.Refuse(true)
	_, err := c.try("POST", "/devices/", nil)
	assert.Error(t, err)
	assert.Empty(t, h.Requests(), "a refused connection is no request")
	assert.Equal(t, 1, h.Refused())
	h.Refuse(false)
	c.register()
}

func TestHang(t *testing.T) {
	h := Start(t, Options{})
	c := newClient(t, h)
	c.c.Timeout = 300 * time.Millisecond
	h.Hang()
	start := time.Now()
	_, err := c.try("POST", "/devices/", nil)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout(), "%v", err)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)

	// A connection held while hanging is closed by Release.
	conn, err := net.Dial("tcp", h.Addr())
	require.NoError(t, err)
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := conn.Read(make([]byte, 1))
		assert.Error(t, err)
	}()
	require.Eventually(t, func() bool { return h.Refused() == 2 }, 2*time.Second, 10*time.Millisecond)
	h.Release()
	wg.Wait()
	c.c.Timeout = 0
	c.register()
}

func TestFail401(t *testing.T) {
	h := Start(t, Options{})
	c, d := synced(t, h)
	h.Fail401(2)
	for i := 0; i < 2; i++ {
		code, b := c.req("GET", "/trails/", nil)
		assert.Equal(t, 401, code)
		assert.JSONEq(t, `{"Error":"Not Authorized"}`, string(b))
	}
	code, _ := c.req("GET", "/trails/", nil)
	assert.Equal(t, 200, code, "the token is still good after the forced 401s")

	// Login is not an authenticated request: a re-login gets through.
	h.Fail401(1)
	c.login(d.PRN, d.Secret)
	code, _ = c.req("GET", "/trails/", nil)
	assert.Equal(t, 401, code)
	code, _ = c.req("GET", "/trails/", nil)
	assert.Equal(t, 200, code)
}

func TestDropWhileStatus(t *testing.T) {
	h := Start(t, Options{})
	c, d := synced(t, h)
	require.NoError(t, h.PostStep(d.ID, 1, []byte(`{}`), ""))
	h.DropWhileStatus("TESTING", 2)
	code, _ := c.req("GET", "/trails/", nil)
	assert.Equal(t, 200, code, "no step is TESTING yet")
	code, _ = c.req("PUT", "/trails/"+d.ID+"/steps/1/progress", []byte(`{"status":"TESTING","progress":75}`))
	assert.Equal(t, 200, code, "the PUT that sets TESTING is answered")
	for i := 0; i < 2; i++ {
		_, err := c.try("GET", "/devices/"+d.ID+"/user-meta", nil)
		assert.Error(t, err, "dropped while TESTING")
	}
	code, _ = c.req("PUT", "/trails/"+d.ID+"/steps/1/progress", []byte(`{"status":"ERROR","status-msg":"Hub communication not stable","progress":100}`))
	assert.Equal(t, 200, code, "after n drops the hub answers again")
	reqs := h.Requests()
	dropped := 0
	for _, r := range reqs {
		if r.Status == 0 {
			dropped++
			assert.True(t, strings.HasSuffix(r.Path, "/user-meta"))
		}
	}
	assert.Equal(t, 2, dropped)
	hist := h.Progress(d.ID, 1)
	require.Len(t, hist, 2)
	assert.Equal(t, "Hub communication not stable", hist[1].StatusMsg)

	// n < 0 drops every request while the status holds.
	h.DropWhileStatus("ERROR", -1)
	for i := 0; i < 3; i++ {
		_, err := c.try("GET", "/trails/", nil)
		assert.Error(t, err)
	}
	h.DropWhileStatus("", 0)
	code, _ = c.req("GET", "/trails/", nil)
	assert.Equal(t, 200, code)
}

func TestRequestsRecordHeaders(t *testing.T) {
	h := Start(t, Options{})
	c, _ := synced(t, h)
	c.req("GET", "/trails/", nil, "X-Test", "1")
	r := h.Requests()
	last := r[len(r)-1]
	assert.True(t, last.Authorized)
	assert.Equal(t, "Bearer "+c.token, last.Header.Get("Authorization"))
	assert.Equal(t, "1", last.Header.Get("X-Test"))
	assert.False(t, last.Time.IsZero())
	assert.True(t, bytes.HasPrefix(r[len(r)-2].Body, []byte(`{"#spec"`)))
}

func TestAnswer(t *testing.T) {
	h := Start(t, Options{})
	c, d := synced(t, h)
	path := "/trails/" + d.ID + "/steps"
	h.Answer("GET", path, 200, []byte(`[{"rev":1,"state":`))
	code, b := c.req("GET", path+"?"+pendingQuery, nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, `[{"rev":1,"state":`, string(b))
	h.Answer("GET", "/objects/x", 500, []byte(`oops`))
	anon := newClient(t, h)
	code, b = anon.req("GET", "/objects/x", nil)
	assert.Equal(t, 500, code, "before any token check")
	assert.Equal(t, "oops", string(b))
	h.Answer("GET", path, 0, nil)
	code, b = c.req("GET", path+"?"+pendingQuery, nil)
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `[]`, string(b))
	r := h.Requests()
	assert.Equal(t, 500, r[len(r)-2].Status, "a canned answer is recorded")
}
