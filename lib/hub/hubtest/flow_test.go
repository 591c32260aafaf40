package hubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pendingQuery = `progress.status=%7B%22$in%22:%5B%22NEW%22,%22DOWNLOADING%22,%22INPROGRESS%22,%22TESTING%22,%22QUEUED%22%5D%7D`

// TestDeviceFlow walks the whole device flow by hand, as §6.4 of the
// protocol reference did against pantahub-base.
func TestDeviceFlow(t *testing.T) {
	h := Start(t, Options{})
	c := newClient(t, h)
	id := flowClaim(t, h, c)
	ksha := flowFactorySync(t, h, c, id)
	asha := flowNewStep(t, h, c, id, ksha)
	flowDownload(t, h, c, id, asha)
	flowLogs(t, h, c, id)
	flowMeta(t, h, c, id)

	// Every request was recorded with its answer.
	reqs := h.Requests()
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/devices/", reqs[0].Path)
	assert.False(t, reqs[0].Authorized)
	assert.Equal(t, ua, reqs[0].UserAgent)
	assert.Equal(t, 200, reqs[0].Status)
	last := reqs[len(reqs)-1]
	assert.True(t, last.Authorized)
	assert.Equal(t, "/devices/"+id+"/user-meta", last.Path)
	assert.Equal(t, "HTTP/1.1", last.Proto)
}

// flowClaim registers, logs in, is claimed and logs in again.
func flowClaim(t *testing.T, h *Hub, c *client) string {
	// Register: id, prn, secret, challenge, no owner.
	reg := c.register()
	id, prn, secret := reg["id"].(string), reg["prn"].(string), reg["secret"].(string)
	assert.Len(t, id, 24)
	assert.Equal(t, "prn:::devices:/"+id, prn)
	assert.Len(t, secret, 15)
	assert.Regexp(t, `^[a-z]+-[a-z]+-[a-z]+$`, reg["challenge"])
	assert.Equal(t, "", reg["owner"])
	assert.True(t, strings.HasPrefix(reg["nick"].(string), "__unregistered__"))

	// Login before the claim: the device sees its challenge, objects are refused.
	c.login(prn, secret)
	code, b := c.req("GET", "/devices/"+id, nil)
	require.Equal(t, 200, code)
	dev := jsonOf[map[string]any](t, b)
	assert.Equal(t, reg["challenge"], dev["challenge"])
	assert.NotContains(t, dev, "secret")
	code, _ = c.req("POST", "/objects/", map[string]string{"objectname": "x", "size": "1", "sha256sum": strings.Repeat("a", 64)})
	assert.Equal(t, 403, code)

	// Claim; the old token still lacks the owner until a re-login.
	require.NoError(t, h.Claim(id))
	code, _ = c.req("POST", "/trails/", []byte(`{}`))
	assert.Equal(t, 403, code, "token from before the claim")
	c.login(prn, secret)
	code, b = c.req("GET", "/devices/"+id, nil)
	require.Equal(t, 200, code)
	dev = jsonOf[map[string]any](t, b)
	assert.Equal(t, UserPRN, dev["owner"])
	assert.Equal(t, "", dev["challenge"])

	return id
}

// flowFactorySync uploads an object and posts the factory trail; it returns the object's sha.
func flowFactorySync(t *testing.T, h *Hub, c *client, id string) string {
	// Factory sync: trails [], object upload 200 then 409, POST /trails/.
	code, b := c.req("GET", "/trails/", nil)
	require.Equal(t, 200, code)
	assert.JSONEq(t, `[]`, string(b))
	kernel := []byte("kernel image bytes")
	ksha := sha(kernel)
	objReq := map[string]string{"objectname": "bsp/kernel.img", "size": fmt.Sprint(len(kernel)), "sha256sum": ksha}
	code, b = c.req("POST", "/objects/", objReq)
	require.Equal(t, 200, code, "%s", b)
	put := jsonOf[map[string]any](t, b)["signed-puturl"].(string)
	u, err := url.Parse(put)
	require.NoError(t, err)
	assert.Equal(t, "https", u.Scheme)
	assert.Equal(t, h.Addr(), u.Host)
	assert.True(t, strings.HasPrefix(u.Path, "/local-s3/"))
	assert.Empty(t, u.RawQuery)
	code, b = c.req("PUT", u.Path, kernel)
	require.Equal(t, 200, code, "%s", b)
	code, _ = c.req("POST", "/objects/", objReq)
	assert.Equal(t, 409, code)
	factory := `{"#spec":"pantavisor-service-system@1","bsp/kernel.img":"` + ksha + `","bsp/run.json":{"linux":"kernel.img"}}`
	code, b = c.req("POST", "/trails/", []byte(factory))
	require.Equal(t, 200, code, "%s", b)
	code, b = c.req("GET", "/trails/", nil)
	require.Equal(t, 200, code)
	trails := jsonOf[[]map[string]any](t, b)
	require.Len(t, trails, 1)
	assert.Equal(t, id, trails[0]["id"])
	assert.Equal(t, "DONE", h.StepStatus(id, 0))

	// Rev 0 is DONE, so nothing is pending.
	code, b = c.req("GET", "/trails/"+id+"/steps?"+pendingQuery, nil)
	require.Equal(t, 200, code)
	assert.JSONEq(t, `[]`, string(b))

	return ksha
}

// flowNewStep has the user post rev 1 and the device find it and report progress.
func flowNewStep(t *testing.T, h *Hub, c *client, id, ksha string) string {
	// The user posts rev 1 with a new object; the pending query returns it.
	app := []byte(strings.Repeat("application ", 1000))
	asha := h.AddObject(app)
	state1 := `{"#spec":"pantavisor-service-system@1","bsp/kernel.img":"` + ksha + `","app/root.squashfs":"` + asha + `"}`
	require.NoError(t, h.PostStep(id, 1, []byte(state1), "new app"))
	code, b := c.req("GET", "/trails/"+id+"/steps?"+pendingQuery, nil)
	require.Equal(t, 200, code)
	steps := jsonOf[[]map[string]any](t, b)
	require.Len(t, steps, 1)
	assert.EqualValues(t, 1, steps[0]["rev"])
	assert.Equal(t, "new app", steps[0]["commit-msg"])
	assert.Equal(t, "NEW", steps[0]["progress"].(map[string]any)["status"])
	assert.Equal(t, asha, steps[0]["state"].(map[string]any)["app/root.squashfs"])

	// Progress PUTs are recorded in order; retries/logs are dropped from the stored progress.
	puts := []string{
		`{"status":"QUEUED","status-msg":"Retried 1 of 10","progress":5,"retries":1}`,
		`{"status":"DOWNLOADING","status-msg":"Downloading update artifacts, retry 1 of 10","progress":25,"downloads":{"total":{"total_size":12000}}}`,
	}
	for _, p := range puts {
		code, b = c.req("PUT", "/trails/"+id+"/steps/1/progress", []byte(p))
		require.Equal(t, 200, code, "%s", b)
	}
	echo := jsonOf[map[string]any](t, b)
	assert.NotContains(t, echo, "retries")
	hist := h.Progress(id, 1)
	require.Len(t, hist, 2)
	assert.Equal(t, "QUEUED", hist[0].Status)
	assert.Equal(t, "Retried 1 of 10", hist[0].StatusMsg)
	assert.Equal(t, 5, hist[0].Progress)
	assert.JSONEq(t, puts[0], string(hist[0].Body))
	assert.Equal(t, "DOWNLOADING", hist[1].Status)
	assert.Equal(t, 25, hist[1].Progress)

	return asha
}

// flowDownload reads the object's metadata, downloads it and finishes the step.
func flowDownload(t *testing.T, h *Hub, c *client, id, asha string) {
	// Object metadata and the download through the signed path.
	code, b := c.req("GET", "/objects/"+asha, nil)
	require.Equal(t, 200, code, "%s", b)
	meta := jsonOf[map[string]any](t, b)
	assert.Equal(t, asha, meta["sha256sum"])
	assert.Equal(t, fmt.Sprint(len(h.Object(asha))), meta["size"], "size is a string")
	get, err := url.Parse(meta["signed-geturl"].(string))
	require.NoError(t, err)
	assert.Empty(t, get.RawQuery)
	saved := c.token
	c.token = "" // no Authorization on downloads
	code, b = c.req("GET", get.Path, nil)
	c.token = saved
	require.Equal(t, 200, code)
	assert.Equal(t, asha, sha(b))
	assert.EqualValues(t, len(h.Object(asha)), h.BytesServed(asha))

	// Final statuses; a repeated final status is accepted.
	for _, p := range []string{`{"status":"INPROGRESS","status-msg":"Rebooting","progress":50}`,
		`{"status":"TESTING","progress":75}`, `{"status":"DONE","progress":100}`, `{"status":"DONE","progress":100}`} {
		code, _ = c.req("PUT", "/trails/"+id+"/steps/1/progress", []byte(p))
		require.Equal(t, 200, code)
	}
	assert.Len(t, h.Progress(id, 1), 6)
	code, b = c.req("GET", "/trails/"+id+"/steps?"+pendingQuery, nil)
	require.Equal(t, 200, code)
	assert.JSONEq(t, `[]`, string(b))
}

func flowLogs(t *testing.T, h *Hub, c *client, id string) {
	// Logs: an array and a single object.
	code, b := c.req("POST", "/logs/", []byte(`[{"tsec":0,"tnano":0,"lvl":"INFO","src":"/pantavisor.log","plat":"pantavisor","rev":"1","msg":"a"},{"tsec":5,"tnano":6,"src":"s","plat":"p","rev":2,"msg":"b"}]`))
	require.Equal(t, 200, code)
	assert.JSONEq(t, `{"status":"ok"}`, string(b))
	code, _ = c.req("POST", "/logs/", []byte(`{"lvl":"WARN","msg":"c"}`))
	require.Equal(t, 200, code)
	assert.Equal(t, []LogEntry{
		{Lvl: "INFO", Src: "/pantavisor.log", Plat: "pantavisor", Rev: "1", Msg: "a"},
		{Tsec: 5, Tnano: 6, Lvl: "INFO", Src: "s", Plat: "p", Rev: "2", Msg: "b"},
		{Lvl: "WARN", Msg: "c"},
	}, h.Logs(id))
}

func flowMeta(t *testing.T, h *Hub, c *client, id string) {
	// Device-meta PUT replaces, PATCH merges and deletes on null.
	code, b := c.req("PUT", "/devices/"+id+"/device-meta", []byte(`{"pantahub.state":"idle","sysinfo":{"loads.0":1}}`))
	require.Equal(t, 200, code)
	assert.JSONEq(t, `{"status":"ok"}`, string(b))
	code, _ = c.req("PATCH", "/devices/"+id+"/device-meta", []byte(`{"pantahub.online":"1","pantahub.state":null}`))
	require.Equal(t, 200, code)
	assert.Equal(t, map[string]any{"pantahub.online": "1", "sysinfo": map[string]any{"loads.0": 1.0}}, h.DeviceMeta(id))

	// User-meta as the test set it.
	code, b = c.req("GET", "/devices/"+id+"/user-meta", nil)
	require.Equal(t, 200, code)
	assert.JSONEq(t, `{}`, string(b))
	require.NoError(t, h.SetUserMeta(id, map[string]any{"app/key": "v", "pantahub.log.push": "0"}))
	code, b = c.req("GET", "/devices/"+id+"/user-meta", nil)
	require.Equal(t, 200, code)
	assert.JSONEq(t, `{"app/key":"v","pantahub.log.push":"0"}`, string(b))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
