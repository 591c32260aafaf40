package ctrl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

const (
	stepState  = `{"#spec":"pantavisor-service-system@1"}`
	readyJSON  = `{"status":"NEW","status-msg":"Update ready to be run","progress":0,"retries":0}`
	factoryPrg = `{"status":"DONE","status-msg":"Factory revision","progress":100,"retries":0}`
)

// inZone makes GET /steps format dates in zone; call it before starting
// the server.
func inZone(t *testing.T, zone *time.Location) {
	stepsZone = zone
	t.Cleanup(func() { stepsZone = nil })
}

func putStep(t *testing.T, st *storage.Storage, rev, body string) {
	t.Helper()
	_, err := st.PutState(rev, -1, strings.NewReader(body))
	require.NoError(t, err)
}

func setMtime(t *testing.T, p string, at time.Time) {
	t.Helper()
	require.NoError(t, os.Chtimes(p, at, at))
}

// TestListSteps checks GET /steps byte for byte against upstream's format:
// locals first, ", " separators, local-time dates with a literal Z,
// escaped commit messages, raw progress or {}.
func TestListSteps(t *testing.T) {
	inZone(t, time.UTC)
	ss := newStorageServer(t, "")
	goldenStorage(t, "steps_empty", rawReq(t, ss.socket, req10("GET", "/steps", "")))

	putStep(t, ss.st, "0", stepState)
	require.NoError(t, ss.st.SetProgress("0", []byte(factoryPrg)))
	putStep(t, ss.st, "1", stepState)
	require.NoError(t, os.Remove(filepath.Join(ss.st.TrailPath("1"), ".pv", "progress")))
	putStep(t, ss.st, "locals/my-rev", stepState)
	require.NoError(t, ss.st.SetCommitMsg("locals/my-rev", []byte("my change")))
	putStep(t, ss.st, "locals/other", stepState)
	require.NoError(t, ss.st.SetCommitMsg("locals/other", []byte("say \"hi\"\\\n\ttab")))
	require.NoError(t, ss.st.SetCurrent("0"))
	require.NoError(t, os.MkdirAll(filepath.Join(ss.st.Root, "trails", ".new.5.x"), 0o755))
	setMtime(t, ss.st.TrailPath("0"), time.Date(2026, 5, 26, 10, 0, 50, 0, time.UTC))
	setMtime(t, ss.st.TrailPath("1"), time.Date(2026, 5, 27, 1, 2, 3, 0, time.UTC))
	setMtime(t, ss.st.TrailPath("locals/my-rev"), time.Date(2026, 6, 8, 16, 18, 18, 0, time.UTC))
	setMtime(t, ss.st.TrailPath("locals/other"), time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC))
	goldenStorage(t, "steps", rawReq(t, ss.socket, req10("GET", "/steps", "")))

	steps, err := ss.st.Steps()
	require.NoError(t, err)
	body := string(appendSteps(nil, steps, time.FixedZone("CEST", 2*3600)))
	assert.Contains(t, body, `{"name":"0", "date":"2026-05-26T12:00:50Z", "commitmsg":"", "progress":`+factoryPrg+`}`,
		"local time with a literal Z, as upstream's strftime")
}

func TestGetStep(t *testing.T) {
	ss := newStorageServer(t, "")
	remote := `{"#spec":"pantavisor-service-system@1" }`
	putStep(t, ss.st, "0", remote)
	putStep(t, ss.st, "locals/x", stepState)
	require.NoError(t, ss.st.SetCurrent("locals/x"))

	for target, want := range map[string]string{
		"/steps/0":                 stepStateOr(remote),
		"/steps/current":           stepState,
		"/steps/locals/x":          stepState,
		"/steps/0/progress":        readyJSON,
		"/steps/locals/x/progress": readyJSON,
		"/steps/current/progress":  readyJSON,
	} {
		resp := rawReq(t, ss.socket, req10("GET", target, ""))
		head, body, _ := strings.Cut(resp, "\r\n\r\n")
		assert.True(t, strings.HasPrefix(head, "HTTP/1.0 200 "), target)
		assert.Contains(t, head, "Content-Type: application/json", target)
		assert.Contains(t, head, "Content-Length: ", target)
		assert.Equal(t, want, body, target)
	}
	for _, target := range []string{
		"/steps/9", "/steps/locals", "/steps/locals/y", "/steps/..", "/steps/%2e%2e", "/steps/locals/..",
		"/steps/locals/.new.x", "/steps/9/progress", "/steps/locals/y/progress", "/steps/locals/../progress",
		"/steps/x?y",
	} {
		code, body := ss.call(t, "GET", target, "")
		assert.Equal(t, 404, code, target)
		assert.Equal(t, errorBody("Resource does not exist"), body, target)
	}
	require.NoError(t, os.Remove(filepath.Join(ss.st.TrailPath("0"), ".pv", "progress")))
	code, _ := ss.call(t, "GET", "/steps/0/progress", "")
	assert.Equal(t, 404, code, "no progress file")
}

func stepStateOr(s string) string { return s }

func TestPutLocalStep(t *testing.T) {
	ss := newStorageServer(t, "")
	code, body := ss.call(t, "PUT", "/steps/locals/new", stepState)
	require.Equal(t, 200, code, body)
	assert.Empty(t, body)
	got, err := ss.st.StateJSON("locals/new")
	require.NoError(t, err)
	assert.Equal(t, stepState, string(got))
	_, body = ss.call(t, "GET", "/steps/locals/new/progress", "")
	assert.Equal(t, readyJSON, body)

	// Overwrite with a chunked body.
	other := `{"#spec": "pantavisor-service-system@1"}`
	code, _ = ss.do(t, "PUT", "/steps/locals/new", strings.NewReader(other), -1)
	assert.Equal(t, 200, code)
	got, _ = ss.st.StateJSON("locals/new")
	assert.Equal(t, other, string(got))

	// The longest name.
	long := strings.Repeat("n", 64)
	code, _ = ss.call(t, "PUT", "/steps/locals/"+long, stepState)
	assert.Equal(t, 200, code)
	assert.Empty(t, leftovers(t, ss.st.Root, false))
}

func TestPutLocalStepErrors(t *testing.T) {
	badName := errorBody("Request has bad step name")
	for name, tc := range map[string]struct {
		target, body string
		code         int
		resp         string
	}{
		"bad json":          {"/steps/locals/x", `{"#spec":`, 422, errorBody("Parser: State JSON has bad format")},
		"not a state":       {"/steps/locals/x", `[]`, 422, errorBody("Parser: State JSON has bad format")},
		"legacy spec":       {"/steps/locals/x", `{"#spec":"pantavisor-multi-platform@1"}`, 422, errorBody("Parser: State JSON has bad format")},
		"empty":             {"/steps/locals/x", ``, 422, errorBody("Parser: State JSON has bad format")},
		"dot dot":           {"/steps/locals/..", stepState, 400, badName},
		"dot":               {"/steps/locals/.", stepState, 400, badName},
		"escaped dot dot":   {"/steps/locals/%2e%2e", stepState, 400, badName},
		"escaped slash":     {"/steps/locals/a%2fb", stepState, 400, badName},
		"hidden":            {"/steps/locals/.new.x", stepState, 400, badName},
		"leading dot":       {"/steps/locals/.x", stepState, 400, badName},
		"backslash":         {"/steps/locals/a\\b", stepState, 400, badName},
		"too long":          {"/steps/locals/" + strings.Repeat("n", 65), stepState, 400, badName},
		"query":             {"/steps/locals/x?a=b", stepState, 400, badName},
		"two slashes":       {"/steps/locals/a/b", stepState, 400, "unknown endpoint: /steps/locals/a/b"},
		"traversal":         {"/steps/locals/../x", stepState, 400, "unknown endpoint: /steps/locals/../x"},
		"remote":            {"/steps/1", stepState, 400, errorBody("Method not supported for this endpoint")},
		"too big":           {"/steps/locals/x", "", 507, errorBody("Not enough disk space available")},
		"not locals at all": {"/steps/x/y", stepState, 400, ""},
	} {
		t.Run(name, func(t *testing.T) {
			ss := newStorageServer(t, "")
			var code int
			var body string
			if name == "too big" {
				code, body = ss.do(t, "PUT", tc.target, &patternReader{size: state.MaxSize + 1}, state.MaxSize+1)
			} else {
				code, body = ss.call(t, "PUT", tc.target, tc.body)
			}
			assert.Equal(t, tc.code, code, body)
			if strings.HasPrefix(tc.resp, "unknown") {
				assert.Equal(t, errorBody(tc.resp), body)
			} else if tc.resp != "" {
				assert.Equal(t, tc.resp, body)
			}
			revs, err := ss.st.Revisions()
			require.NoError(t, err)
			assert.Empty(t, revs, "no revision left")
			assert.Empty(t, leftovers(t, ss.st.Root, false))
		})
	}
}

// TestPutLocalStepKeepsOld: a failed upload over an existing step leaves
// the existing one as it was.
func TestPutLocalStepKeepsOld(t *testing.T) {
	ss := newStorageServer(t, "")
	code, _ := ss.call(t, "PUT", "/steps/locals/x", stepState)
	require.Equal(t, 200, code)
	code, _ = ss.call(t, "PUT", "/steps/locals/x", `{"#spec":"nope"}`)
	assert.Equal(t, 422, code)
	got, err := ss.st.StateJSON("locals/x")
	require.NoError(t, err)
	assert.Equal(t, stepState, string(got))
}

func TestPutLocalStepDiskFull(t *testing.T) {
	root := mountTmpfs(t, "4m")
	ss := newStorageServer(t, root)
	big := `{"#spec":"pantavisor-service-system@1","x.json":"` + strings.Repeat("x", 5<<20) + `"}`
	code, body := ss.call(t, "PUT", "/steps/locals/x", big)
	assert.Equal(t, 507, code, "free-space check")
	assert.Equal(t, errorBody("Not enough disk space available"), body)
	code, _ = ss.do(t, "PUT", "/steps/locals/x", strings.NewReader(big), -1)
	assert.Equal(t, 507, code, "ENOSPC while writing")
	revs, _ := ss.st.Revisions()
	assert.Empty(t, revs)
	assert.Empty(t, leftovers(t, root, false))

	// A disk full to the last block: even the progress file fails.
	f, err := os.Create(filepath.Join(root, "filler"))
	require.NoError(t, err)
	buf := bytes.Repeat([]byte{1}, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	code, _ = ss.call(t, "PUT", "/steps/locals/x", stepState)
	assert.Equal(t, 507, code)
	assert.Empty(t, leftovers(t, root, false))
}

func TestCommitMsg(t *testing.T) {
	ss := newStorageServer(t, "")
	putStep(t, ss.st, "0", stepState)
	putStep(t, ss.st, "locals/x", stepState)
	require.NoError(t, ss.st.SetCurrent("0"))
	read := func(rev string) string {
		b, _ := os.ReadFile(filepath.Join(ss.st.TrailPath(rev), ".pv", "commitmsg"))
		return string(b)
	}
	for _, tc := range []struct {
		target, body string
		code         int
		resp, rev    string
	}{
		{"/steps/locals/x/commitmsg", "local msg", 200, "", "locals/x"},
		{"/steps/0/commitmsg", "remote msg", 200, "", "0"},
		{"/steps/current/commitmsg", "current msg", 200, "", "0"},
		{"/steps/locals/x/commitmsg", strings.Repeat("m", 256), 200, "", "locals/x"},
		{"/steps/locals/x/commitmsg", strings.Repeat("m", 257), 507, errorBody("Not enough disk space available"), ""},
		{"/steps/locals/x/commitmsg", "", 400, errorBody("No commit message"), ""},
		{"/steps/9/commitmsg", "msg", 500, errorBody("Cannot write message"), ""},
		{"/steps/locals/y/commitmsg", "msg", 500, errorBody("Cannot write message"), ""},
		{"/steps/../commitmsg", "msg", 500, errorBody("Cannot write message"), ""},
		{"/steps/locals/../commitmsg", "msg", 400, errorBody("Request has bad step name"), ""},
		{"/steps/locals/%2e%2e/commitmsg", "msg", 400, errorBody("Request has bad step name"), ""},
	} {
		code, body := ss.call(t, "PUT", tc.target, tc.body)
		assert.Equal(t, tc.code, code, tc.target)
		assert.Equal(t, tc.resp, body, tc.target)
		if tc.rev != "" {
			assert.Equal(t, tc.body, read(tc.rev), tc.target)
		}
	}
	assert.NoFileExists(t, filepath.Join(ss.st.Root, "trails", ".pv", "commitmsg"))
	_, body := ss.call(t, "GET", "/steps", "")
	assert.Contains(t, body, `"commitmsg":"current msg"`)
}

// FuzzLocalName checks that any accepted local step name stays one plain
// directory directly under trails/locals.
func FuzzLocalName(f *testing.F) {
	for _, s := range []string{"x", "my-rev", "..", ".", "a/b", "%2e%2e", strings.Repeat("n", 64), strings.Repeat("n", 65),
		"a\x00b", "a\\b", "é", ".hidden", "a?b", "\n", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !checkLocalName(name) {
			return
		}
		if len(name) == 0 || len(name) > 64 || strings.ContainsAny(name, "/\\\x00%?") || name[0] == '.' {
			t.Fatalf("accepted %q", name)
		}
		const base = "/storage/trails/locals"
		p := filepath.Join(base, name)
		if filepath.Dir(p) != base || filepath.Base(p) != name {
			t.Fatalf("%q escapes trails/locals: %s", name, p)
		}
		if err := storage.CheckRevision("locals/" + name); err != nil {
			t.Fatalf("accepted %q that storage refuses: %v", name, err)
		}
	})
}
