package hubtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

const ua = "Pantavisor/2 (Linux; x86_64) PV/test Date/today"

// client speaks to a Hub as a device would, verifying the test CA.
type client struct {
	t     *testing.T
	h     *Hub
	c     *http.Client
	token string
	ua    string
}

func newClient(t *testing.T, h *Hub) *client {
	t.Helper()
	pem, err := os.ReadFile(h.CAFile())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}
	return &client{t: t, h: h, c: &http.Client{Transport: tr}, ua: ua}
}

// req sends method path with body (nil, []byte, or a value to marshal)
// and returns the status and body; a transport error fails the test.
func (c *client) req(method, path string, body any, hdr ...string) (int, []byte) {
	c.t.Helper()
	resp, err := c.try(method, path, body, hdr...)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, b
}

// try is req without reading the answer.
func (c *client) try(method, path string, body any, hdr ...string) (*http.Response, error) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(j)
	}
	url := path
	if path[0] == '/' {
		url = c.h.URL() + path
	}
	r, err := http.NewRequest(method, url, rd)
	require.NoError(c.t, err)
	r.Header.Set("User-Agent", c.ua)
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return c.c.Do(r)
}

// jsonOf decodes b into a fresh T.
func jsonOf[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "body %s", b)
	return v
}

// register registers a device and returns its JSON.
func (c *client) register(hdr ...string) map[string]any {
	c.t.Helper()
	code, b := c.req("POST", "/devices/", nil, hdr...)
	require.Equal(c.t, 200, code, "%s", b)
	return jsonOf[map[string]any](c.t, b)
}

// login logs in as the device and keeps the token.
func (c *client) login(prn, secret string) {
	c.t.Helper()
	code, b := c.req("POST", "/auth/login", map[string]string{"username": prn, "password": secret})
	require.Equal(c.t, 200, code, "%s", b)
	c.token = jsonOf[map[string]string](c.t, b)["token"]
	require.NotEmpty(c.t, c.token)
}

// claimed registers, claims and logs in a device; it returns the device.
func claimed(t *testing.T, h *Hub) (*client, Device) {
	t.Helper()
	c := newClient(t, h)
	d := c.register()
	require.NoError(t, h.Claim(d["id"].(string)))
	c.login(d["prn"].(string), d["secret"].(string))
	devs := h.Devices()
	return c, devs[len(devs)-1]
}

// synced is claimed plus the factory trail.
func synced(t *testing.T, h *Hub) (*client, Device) {
	t.Helper()
	c, d := claimed(t, h)
	code, b := c.req("POST", "/trails/", []byte(`{"#spec":"pantavisor-service-system@1"}`))
	require.Equal(t, 200, code, "%s", b)
	return c, d
}
