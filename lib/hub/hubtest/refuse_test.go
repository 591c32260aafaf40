package hubtest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefusals checks each endpoint's refusal.
func TestRefusals(t *testing.T) {
	h := Start(t, Options{})
	fresh := newClient(t, h) // unclaimed device with a token
	reg := fresh.register()
	id := reg["id"].(string)
	fresh.login(reg["prn"].(string), reg["secret"].(string))
	own, od := synced(t, h)
	bad := newClient(t, h)
	bad.token = "not-a-token"
	anon := newClient(t, h)
	noUA := newClient(t, h)
	noUA.ua = ""
	obj := map[string]string{"objectname": "o", "size": "3", "sha256sum": strings.Repeat("b", 64)}

	tests := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		code   int
		msg    string
	}{
		{"login without user-agent", noUA, "POST", "/auth/login", map[string]string{"username": reg["prn"].(string), "password": reg["secret"].(string)}, 403, "Incompatible Client"},
		{"register without user-agent", noUA, "POST", "/devices/", nil, 403, "Incompatible Client"},
		{"login wrong secret", anon, "POST", "/auth/login", map[string]string{"username": reg["prn"].(string), "password": "x"}, 401, `{"Error":"Not Authorized"}`},
		{"login unknown device", anon, "POST", "/auth/login", map[string]string{"username": "prn:::devices:/000000000000000000000000", "password": "x"}, 401, "Not Authorized"},
		{"login bad json", anon, "POST", "/auth/login", []byte("{"), 401, "Not Authorized"},
		{"trails bad token", bad, "GET", "/trails/", nil, 401, `{"Error":"Not Authorized"}`},
		{"trails no token", anon, "GET", "/trails/", nil, 401, "Not Authorized"},
		{"device bad token", bad, "GET", "/devices/" + id, nil, 401, "Not Authorized"},
		{"steps bad token", bad, "GET", "/trails/" + id + "/steps", nil, 401, "Not Authorized"},
		{"progress bad token", bad, "PUT", "/trails/" + id + "/steps/0/progress", []byte(`{}`), 401, "Not Authorized"},
		{"object bad token", bad, "GET", "/objects/" + strings.Repeat("b", 64), nil, 401, "Not Authorized"},
		{"logs bad token", bad, "POST", "/logs/", []byte(`[]`), 401, "Not Authorized"},
		{"device-meta bad token", bad, "PUT", "/devices/" + id + "/device-meta", []byte(`{}`), 401, "Not Authorized"},
		{"user-meta bad token", bad, "GET", "/devices/" + id + "/user-meta", nil, 401, "Not Authorized"},
		{"post object before owner", fresh, "POST", "/objects/", obj, 403, "Device needs an owner"},
		{"get object before owner", fresh, "GET", "/objects/" + strings.Repeat("b", 64), nil, 403, "Device needs an owner"},
		{"post trail before owner", fresh, "POST", "/trails/", []byte(`{}`), 403, "Device needs an owner"},
		{"logs before owner", fresh, "POST", "/logs/", []byte(`[]`), 403, "Device needs an owner"},
		{"unknown object", own, "GET", "/objects/" + strings.Repeat("c", 64), nil, 404, "Not Accessible"},
		{"other device", own, "GET", "/devices/" + id, nil, 403, "not your device"},
		{"other device-meta", own, "PUT", "/devices/" + id + "/device-meta", []byte(`{}`), 403, "not your device"},
		{"other device's steps are empty", own, "GET", "/trails/" + id + "/steps", nil, 200, "[]"},
		{"other device's progress", own, "PUT", "/trails/" + id + "/steps/0/progress", []byte(`{}`), 404, "no such step"},
		{"unknown step", own, "PUT", "/trails/" + od.ID + "/steps/7/progress", []byte(`{}`), 404, "no such step"},
		{"bad progress", own, "PUT", "/trails/" + od.ID + "/steps/0/progress", []byte(`{`), 400, "bad progress"},
		{"bad filter", own, "GET", "/trails/" + od.ID + "/steps?progress.status=%7B", nil, 400, "bad progress.status"},
		{"second trail", own, "POST", "/trails/", []byte(`{}`), 500, "duplicate"},
		{"trail not an object", own, "POST", "/trails/", []byte(`[]`), 400, "JSON object"},
		{"bad object size", own, "POST", "/objects/", map[string]string{"objectname": "o", "size": "x", "sha256sum": strings.Repeat("b", 64)}, 400, "bad object"},
		{"device-meta not an object", own, "PUT", "/devices/" + od.ID + "/device-meta", []byte(`1`), 400, "JSON object"},
		{"logs not json", own, "POST", "/logs/", []byte(`x`), 400, "logs must be"},
		{"bad signed url", anon, "GET", "/local-s3/nope", nil, 403, "bad signed url"},
		{"bad upload url", anon, "PUT", "/local-s3/nope", []byte("x"), 403, "bad signed url"},
		{"unknown endpoint", own, "GET", "/nothing", nil, 404, "no such endpoint"},
		{"wrong auto-token", anon, "POST", "/devices/", nil, 400, "AutoAuthToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			var hdr []string
			if tc.name == "wrong auto-token" {
				hdr = []string{"Pantahub-Devices-Auto-Token-V1", "wrong"}
			}
			code, b := tc.c.req(tc.method, tc.path, tc.body, hdr...)
			assert.Equal(t, tc.code, code, "%s", b)
			assert.Contains(t, string(b), tc.msg)
		})
	}
}

func TestUploadMismatch(t *testing.T) {
	h := Start(t, Options{})
	c, _ := claimed(t, h)
	data := []byte("abc")
	code, b := c.req("POST", "/objects/", map[string]string{"objectname": "o", "size": "3", "sha256sum": sha(data)})
	require.Equal(t, 200, code)
	put := jsonOf[map[string]any](t, b)["signed-puturl"].(string)
	code, _ = c.req("PUT", put, []byte("abd"))
	assert.Equal(t, 400, code, "wrong bytes")
	code, _ = c.req("PUT", put, []byte("abcd"))
	assert.Equal(t, 400, code, "wrong length")
	assert.Nil(t, h.Object(sha(data)))
	code, _ = c.req("PUT", put, data)
	assert.Equal(t, 200, code)
	assert.Equal(t, data, h.Object(sha(data)))
}

func TestAutoToken(t *testing.T) {
	h := Start(t, Options{AutoToken: "ZmFjdG9yeQ=="})
	c := newClient(t, h)
	d := c.register("Pantahub-Devices-Auto-Token-V1", "ZmFjdG9yeQ==")
	assert.Equal(t, UserPRN, d["owner"])
	assert.Equal(t, "", d["challenge"])
	h.AutoToken("")
	code, _ := c.req("POST", "/devices/", nil, "Pantahub-Devices-Auto-Token-V1", "ZmFjdG9yeQ==")
	assert.Equal(t, 400, code)
	// An owned device may sync without a claim.
	c.login(d["prn"].(string), d["secret"].(string))
	code, _ = c.req("POST", "/trails/", []byte(`{}`))
	assert.Equal(t, 200, code)
}

func TestPostStep(t *testing.T) {
	h := Start(t, Options{})
	_, d := claimed(t, h)
	assert.ErrorIs(t, h.PostStep("nope", 1, []byte(`{}`), ""), ErrNotFound)
	assert.ErrorIs(t, h.PostStep(d.ID, 1, []byte(`{}`), ""), ErrNotFound, "no trail yet")
	c, d := synced(t, h)
	assert.Error(t, h.PostStep(d.ID, 1, []byte(`[`), ""))
	assert.ErrorIs(t, h.PostStep(d.ID, 2, []byte(`{}`), ""), ErrBadStep)
	assert.ErrorIs(t, h.PostStep(d.ID, 0, []byte(`{}`), ""), ErrBadStep)
	assert.ErrorIs(t, h.PostStep(d.ID, 1, []byte(`{"a/b":"`+strings.Repeat("d", 64)+`"}`), ""), ErrMissingObject)
	require.NoError(t, h.PostStep(d.ID, -1, []byte(`{"#spec":"x","a.json":{"k":1}}`), "one"))
	require.NoError(t, h.PostStep(d.ID, -1, []byte(`{}`), "two"))
	assert.ErrorIs(t, h.Claim("nope"), ErrNotFound)
	assert.ErrorIs(t, h.SetUserMeta("nope", nil), ErrNotFound)

	// Without the parameter: the first NEW step only; a plain string
	// matches exactly.
	code, b := c.req("GET", "/trails/"+d.ID+"/steps", nil)
	require.Equal(t, 200, code)
	steps := jsonOf[[]map[string]any](t, b)
	require.Len(t, steps, 1)
	assert.EqualValues(t, 1, steps[0]["rev"])
	code, _ = c.req("PUT", "/trails/"+d.ID+"/steps/2/progress", []byte(`{"status":"TESTING"}`))
	require.Equal(t, 200, code)
	code, b = c.req("GET", "/trails/"+d.ID+"/steps?progress.status=TESTING", nil)
	require.Equal(t, 200, code)
	steps = jsonOf[[]map[string]any](t, b)
	require.Len(t, steps, 1)
	assert.EqualValues(t, 2, steps[0]["rev"])
	code, b = c.req("GET", "/trails/"+d.ID+"/steps?"+pendingQuery, nil)
	require.Equal(t, 200, code)
	steps = jsonOf[[]map[string]any](t, b)
	require.Len(t, steps, 2)
	assert.EqualValues(t, 1, steps[0]["rev"], "sorted by rev")
}

// TestHTTP10 speaks HTTP/1.0 by hand with "Host: host:port", as libthttp
// does.
func TestHTTP10(t *testing.T) {
	h := Start(t, Options{})
	pem, err := os.ReadFile(h.CAFile())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	for _, host := range []string{h.Addr(), h.Host(), "localhost"} {
		conn, err := tls.Dial("tcp", h.Addr(), &tls.Config{RootCAs: pool, ServerName: strings.Split(host, ":")[0]})
		require.NoError(t, err)
		_, err = conn.Write([]byte("POST /devices/ HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: " + ua +
			"\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "HTTP/1.0", resp.Proto)
		resp.Body.Close()
		conn.Close()
	}
	reqs := h.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "HTTP/1.0", reqs[0].Proto)
	assert.Equal(t, h.Addr(), reqs[0].Host)
	assert.Equal(t, h.Host(), reqs[1].Host)
	assert.Len(t, h.Devices(), 3)
}

// TestCertNames checks the leaf covers ::1 and extra names.
func TestCertNames(t *testing.T) {
	h := Start(t, Options{Names: []string{"10.0.2.2", "hub.test"}})
	pem, err := os.ReadFile(h.CAFile())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	for _, name := range []string{"127.0.0.1", "::1", "localhost", "10.0.2.2", "hub.test"} {
		conn, err := tls.Dial("tcp", h.Addr(), &tls.Config{RootCAs: pool, ServerName: name})
		require.NoError(t, err, name)
		conn.Close()
	}
	_, err = tls.Dial("tcp", h.Addr(), &tls.Config{RootCAs: pool, ServerName: "other.test"})
	var hostErr x509.HostnameError
	assert.True(t, errors.As(err, &hostErr), "%v", err)
}

func TestPublicAddr(t *testing.T) {
	h := Start(t, Options{})
	port := strconv.Itoa(h.Port())
	for host, want := range map[string]string{
		"":               h.Host() + ":" + port,
		"localhost":      "localhost:" + port,
		"10.0.2.2:4433":  "10.0.2.2:4433",
		"[::1]:" + port:  "[::1]:" + port,
		"hub.test":       "hub.test:" + port,
		"127.0.0.1:9999": "127.0.0.1:9999",
	} {
		assert.Equal(t, want, h.publicAddr(host), "Host %q", host)
	}
	fixed := Start(t, Options{PublicAddr: "10.0.2.2:8443"})
	assert.Equal(t, "10.0.2.2:8443", fixed.publicAddr("localhost"))
}
