package pvctl

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ctrl/ctrltest"
)

const (
	form = ctypeForm
	js   = ctypeJSON
)

// TestCommands checks every subcommand and alias: exactly one request
// with the method, target, content type and body the script sends.
func TestCommands(t *testing.T) {
	f := ctrltest.New(t)
	for _, tc := range []struct {
		args                  string
		method, target, ctype string
		body                  string
	}{
		{"ls", "GET", "/containers", "", ""},
		{"list", "GET", "/containers", "", ""},
		{"containers ls", "GET", "/containers", "", ""},
		{"containers list", "GET", "/containers", "", ""},
		{"containers start app", "PUT", "/containers/app", js, `{"action":"start"}`},
		{"containers stop app", "PUT", "/containers/app", js, `{"action":"stop"}`},
		{"containers restart app", "PUT", "/containers/app", js, `{"action":"restart"}`},
		{"groups ls", "GET", "/groups", "", ""},
		{"signal ready", "POST", "/signal", js, `{"type":"ready","payload":""}`},
		{"signal alive", "POST", "/signal", js, `{"type":"alive","payload":""}`},
		{"cmd run locals/x", "POST", "/commands", js, `{"op":"LOCAL_RUN","payload":"locals/x"}`},
		{"command run 5", "POST", "/commands", js, `{"op":"LOCAL_RUN","payload":"5"}`},
		{"commands run-commit locals/y", "POST", "/commands", js, `{"op":"LOCAL_RUN_COMMIT","payload":"locals/y"}`},
		{"cmd reboot", "POST", "/commands", js, `{"op":"REBOOT_DEVICE","payload":""}`},
		{"cmd reboot bye", "POST", "/commands", js, `{"op":"REBOOT_DEVICE","payload":"bye"}`},
		{"cmd poweroff", "POST", "/commands", js, `{"op":"POWEROFF_DEVICE","payload":""}`},
		{"cmd poweroff off", "POST", "/commands", js, `{"op":"POWEROFF_DEVICE","payload":"off"}`},
		{"cmd run-gc", "POST", "/commands", js, `{"op":"RUN_GC","payload":""}`},
		{"cmd make-factory", "POST", "/commands", js, `{"op":"MAKE_FACTORY","payload":""}`},
		{"cmd make-factory 3", "POST", "/commands", js, `{"op":"MAKE_FACTORY","payload":"3"}`},
		{"cmd enable-ssh", "POST", "/commands", js, `{"op":"ENABLE_SSH","payload":""}`},
		{"cmd disable-ssh", "POST", "/commands", js, `{"op":"DISABLE_SSH","payload":""}`},
		{"cmd go-remote", "POST", "/commands", js, `{"op":"GO_REMOTE","payload":""}`},
		{"cmd unclaim", "POST", "/commands", js, `{"op":"UNCLAIM","payload":""}`},
		{"cmd defer-reboot 600", "POST", "/commands", js, `{"op":"DEFER_REBOOT","payload":"600"}`},
		{"devmeta save k v", "PUT", "/device-meta/k", form, "v"},
		{"devmeta upload k v", "PUT", "/device-meta/k", form, "v"},
		{"devmeta save k", "PUT", "/device-meta/k", form, ""},
		{"devmeta delete k", "DELETE", "/device-meta/k", "", ""},
		{"devmeta ls", "GET", "/device-meta", "", ""},
		{"devmeta list", "GET", "/device-meta", "", ""},
		{"usrmeta save app.key val", "PUT", "/user-meta/app.key", form, "val"},
		{"usrmeta delete app.key", "DELETE", "/user-meta/app.key", "", ""},
		{"usrmeta ls", "GET", "/user-meta", "", ""},
		{"usrmeta list", "GET", "/user-meta", "", ""},
		{"buildinfo", "GET", "/buildinfo", "", ""},
		{"storage gc", "POST", "/storage/gc", "", ""},
		{"objects ls", "GET", "/objects", "", ""},
		{"objects list", "GET", "/objects", "", ""},
		{"steps ls", "GET", "/steps", "", ""},
		{"steps list", "GET", "/steps", "", ""},
		{"steps get current", "GET", "/steps/current", "", ""},
		{"steps get locals/x", "GET", "/steps/locals/x", "", ""},
		{"steps show-progress locals/x", "GET", "/steps/locals/x/progress", "", ""},
		{"graph ls", "GET", "/xconnect-graph", "", ""},
		{"graph list", "GET", "/xconnect-graph", "", ""},
		{"daemons ls", "GET", "/daemons", "", ""},
		{"daemons list", "GET", "/daemons", "", ""},
		{"daemons start hwrngd", "PUT", "/daemons/hwrngd", js, `{"action":"start"}`},
		{"daemons stop hwrngd", "PUT", "/daemons/hwrngd", js, `{"action":"stop"}`},
		{"drivers ls", "GET", "/drivers", "", ""},
		{"drivers list", "GET", "/drivers", "", ""},
		{"drivers load", "PUT", "/drivers/load", "", ""},
		{"drivers unload", "PUT", "/drivers/unload", "", ""},
		{"drivers load wifi", "PUT", "/drivers/wifi/load", "", ""},
		{"drivers unload wifi", "PUT", "/drivers/wifi/unload", "", ""},
		{"config ls", "GET", "/config", "", ""},
		{"config list", "GET", "/config", "", ""},
		{"configuration ls", "GET", "/config2", "", ""},
		{"conf list", "GET", "/config2", "", ""},
	} {
		t.Run(tc.args, func(t *testing.T) {
			before := len(f.Requests())
			r := run(t, "", false, append([]string{"-s", f.Sock}, strings.Fields(tc.args)...)...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, "\n", r.stdout)
			reqs := f.Requests()[before:]
			require.Len(t, reqs, 1)
			assert.Equal(t, ctrltest.Request{Method: tc.method, Target: tc.target, CType: tc.ctype, Body: tc.body,
				Len: int64(len(tc.body)), SHA: reqs[0].SHA}, reqs[0])
		})
	}
}

// TestPayloadEscaped checks that payloads are JSON-escaped (the script
// pastes them raw) and names with spaces still make a request line.
func TestPayloadEscaped(t *testing.T) {
	f := ctrltest.New(t)
	r := run(t, "", false, "-s", f.Sock, "cmd", "reboot", "say \"bye\"\n")
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, "", false, "-s", f.Sock, "devmeta", "save", "a key", "v")
	require.Equal(t, 0, r.code, r.stderr)
	reqs := f.Requests()
	assert.Equal(t, `{"op":"REBOOT_DEVICE","payload":"say \"bye\"\n"}`, reqs[0].Body)
	assert.Equal(t, "/device-meta/a%20key", reqs[1].Target)
}

func TestDaemonRestart(t *testing.T) {
	f := ctrltest.New(t)
	r := run(t, "", false, "-s", f.Sock, "daemons", "restart", "hwrngd")
	require.Equal(t, 0, r.code, r.stderr)
	reqs := f.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, `{"action":"stop"}`, reqs[0].Body)
	assert.Equal(t, `{"action":"start"}`, reqs[1].Body)

	// A failed stop is the output; no start follows.
	f.SetReply(func(ctrltest.Request) (int, string) { return 404, `{"Error":"Daemon not found"}` })
	r = run(t, "", false, "-s", f.Sock, "daemons", "restart", "nope")
	assert.Equal(t, 255, r.code)
	assert.Equal(t, "{\"Error\":\"Daemon not found\"}\n", r.stderr)
	assert.Len(t, f.Requests(), 3)
}

func TestStepsPut(t *testing.T) {
	f := ctrltest.New(t)
	state := filepath.Join(t.TempDir(), "json")
	require.NoError(t, os.WriteFile(state, []byte(`{"#spec":"pantavisor-service-system@1"}`), 0o644))

	r := run(t, "", false, "-s", f.Sock, "steps", "put", state, "locals/a")
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, "", false, "-s", f.Sock, "-m", "my change", "steps", "put", state, "locals/b")
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, `{"x":1}`, false, "-s", f.Sock, "steps", "put", "-", "locals/c")
	require.Equal(t, 0, r.code, r.stderr)
	reqs := f.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, []string{"PUT /steps/locals/a", "PUT /steps/locals/b", "PUT /steps/locals/b/commitmsg", "PUT /steps/locals/c"}, f.Calls())
	assert.Equal(t, `{"#spec":"pantavisor-service-system@1"}`, reqs[0].Body)
	assert.Equal(t, "my change", reqs[2].Body)
	assert.Equal(t, form, reqs[2].CType)
	assert.Equal(t, `{"x":1}`, reqs[3].Body)

	// No commit message after a failed step upload; its reply is shown.
	f.SetReply(func(ctrltest.Request) (int, string) { return 422, `{"Error":"Parser: State JSON has bad format"}` })
	r = run(t, "", false, "-s", f.Sock, "-m", "msg", "steps", "put", state, "locals/d")
	assert.Equal(t, 255, r.code)
	assert.Equal(t, "{\"Error\":\"Parser: State JSON has bad format\"}\n", r.stderr)
	assert.Len(t, f.Requests(), 5)
}

func TestObjects(t *testing.T) {
	f := ctrltest.New(t)
	obj := filepath.Join(t.TempDir(), "obj")
	require.NoError(t, os.WriteFile(obj, []byte("object bytes"), 0o644))
	sha := strings.Repeat("ab", 32)

	r := run(t, "", false, "-s", f.Sock, "objects", "put", obj, sha)
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, "hello and more", false, "-s", f.Sock, "objects", "put", "-5", sha)
	require.Equal(t, 0, r.code, r.stderr)
	r = run(t, "all of stdin", false, "-s", f.Sock, "objects", "put", "-", sha) // chunked
	require.Equal(t, 0, r.code, r.stderr)
	reqs := f.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, ctrltest.Request{Method: "PUT", Target: "/objects/" + sha, CType: ctypeOcts, Body: "object bytes", Len: 12, SHA: reqs[0].SHA}, reqs[0])
	assert.Equal(t, "hello", reqs[1].Body)
	assert.Equal(t, "all of stdin", reqs[2].Body)

	// A file that cannot be read: no request, exit 255.
	r = run(t, "", false, "-s", f.Sock, "objects", "put", "/nonexistent/obj", sha)
	assert.Equal(t, 255, r.code)
	assert.Contains(t, r.stderr, "/nonexistent/obj")
	assert.Len(t, f.Requests(), 3)

	// get: the raw body, whatever the status, exit 0; -f writes it to a file.
	f.SetReply(func(ctrltest.Request) (int, string) { return 200, "raw\n\n" })
	r = run(t, "", false, "-s", f.Sock, "objects", "get", sha)
	assert.Equal(t, result{0, "raw\n\n", ""}, r)
	out := filepath.Join(t.TempDir(), "out")
	r = run(t, "", false, "-s", f.Sock, "-f", out, "objects", "get", sha)
	assert.Equal(t, result{0, "", ""}, r)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "raw\n\n", string(got))
	f.SetReply(func(ctrltest.Request) (int, string) { return 400, `{"Error":"Request has bad object name"}` })
	r = run(t, "", false, "-s", f.Sock, "objects", "get", sha)
	assert.Equal(t, result{0, `{"Error":"Request has bad object name"}`, ""}, r)
}

// TestOutputContract checks stdout, stderr and the exit code for each
// kind of reply.
func TestOutputContract(t *testing.T) {
	f := ctrltest.New(t)
	for _, tc := range []struct {
		name           string
		status         int
		body           string
		code           int
		stdout, stderr string
	}{
		{"200 empty", 200, "", 0, "\n", ""},
		{"200 body", 200, `[{"name":"a"}]`, 0, "[{\"name\":\"a\"}]\n", ""},
		{"200 trailing newlines", 200, "text\n\n", 0, "text\n", ""},
		{"200 inner newlines", 200, "\na\n\nb\n", 0, "\na\n\nb\n", ""},
		{"503 busy", 503, `{"Error":"A command is already in progress. Try again"}`, 75, "", "{\"Error\":\"A command is already in progress. Try again\"}\n"},
		{"507 disk", 507, `{"Error":"Not enough disk space available"}`, 48, "", "{\"Error\":\"Not enough disk space available\"}\n"},
		{"422 checksum", 422, `{"Error":"Object has bad checksum"}`, 60, "", "{\"Error\":\"Object has bad checksum\"}\n"},
		{"422 verification", 422, `{"Error":"State verification has failed"}`, 70, "", "{\"Error\":\"State verification has failed\"}\n"},
		{"422 other", 422, `{"Error":"Parser: State JSON has bad format"}`, 255, "", "{\"Error\":\"Parser: State JSON has bad format\"}\n"},
		{"404", 404, `{"Error":"Resource does not exist"}`, 255, "", "{\"Error\":\"Resource does not exist\"}\n"},
		{"204", 204, "", 255, "", "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.SetReply(func(ctrltest.Request) (int, string) { return tc.status, tc.body })
			r := run(t, "", false, "-s", f.Sock, "steps", "ls")
			assert.Equal(t, result{tc.code, tc.stdout, tc.stderr}, r)
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "pv-ctrl")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	l.SetUnlinkOnClose(false)
	l.Close()
	r := run(t, "", false, "-s", sock, "ls")
	assert.Equal(t, 255, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "pv-ctl: ")
}

func TestMissingSocket(t *testing.T) {
	r := run(t, "", false, "-s", "/nonexistent/pv-ctrl", "ls")
	assert.Equal(t, result{1, "ERROR: /nonexistent/pv-ctrl not found\n", ""}, r)
	// A regular file is not a socket (test -S).
	file := filepath.Join(t.TempDir(), "pv-ctrl")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	r = run(t, "", false, "-s", file, "ls")
	assert.Equal(t, result{1, "ERROR: " + file + " not found\n", ""}, r)
	// Default: the fallback path is used when no candidate exists.
	r = run(t, "", false, "ls")
	assert.Equal(t, result{1, "ERROR: /nonexistent/b not found\n", ""}, r)
}

func TestSocketDiscovery(t *testing.T) {
	f := ctrltest.New(t)
	var out, errb bytes.Buffer
	c := &ctl{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		sockets: []string{"/nonexistent/a", f.Sock, "/nonexistent/c"},
		getenv:  func(string) string { return "" }}
	require.Equal(t, 0, c.main([]string{"pvcontrol", "ls"}), errb.String())
	assert.Equal(t, f.Sock, c.opts.socket)
	assert.Equal(t, []string{"GET /containers"}, f.Calls())
}

// TestUsage checks usage errors (stdout, exit 1, before the socket is
// looked at) and --help (exit 0).
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args  string
		code  int
		first string // first line of stdout
	}{
		{"", 1, "Usage: pv-ctl [options]"},
		{"-h", 0, "Usage: pv-ctl [options]"},
		{"-v -h", 0, "Usage: pv-ctl [options]"},
		{"--help", 0, "Usage: pv-ctl [options]"},
		{"bogus", 1, "Usage: pv-ctl [options]"},
		{"-x ls", 1, "Usage: pv-ctl [options]"},
		{"-s", 1, "Usage: pv-ctl [options]"},
		{"ls extra", 1, "Usage: pv-ctl ls"},
		{"ls --help", 0, "Usage: pv-ctl ls"},
		{"containers", 1, "Usage: pv-ctl containers"},
		{"containers start", 1, "Usage: pv-ctl containers"},
		{"containers --help", 0, "Usage: pv-ctl containers"},
		{"groups list", 1, "Usage: pv-ctl groups"},
		{"signal", 1, "Usage: pv-ctl signal"},
		{"signal --help", 0, "Usage: pv-ctl signal"},
		{"cmd", 1, "Usage: pv-ctl cmd"},
		{"cmd run", 1, "Usage: pv-ctl cmd"},
		{"cmd run-commit", 1, "Usage: pv-ctl cmd"},
		{"cmd defer-reboot", 1, "Usage: pv-ctl cmd"},
		{"cmd --help", 0, "Usage: pv-ctl cmd"},
		{"devmeta save", 1, "Usage: pv-ctl devmeta"},
		{"devmeta delete", 1, "Usage: pv-ctl devmeta"},
		{"devmeta --help", 0, "Usage: pv-ctl devmeta"},
		{"usrmeta upload k v", 1, "Usage: pv-ctl usrmeta"},
		{"usrmeta --help", 0, "Usage: pv-ctl usrmeta"},
		{"buildinfo x", 1, "Usage: pv-ctl buildinfo"},
		{"buildinfo --help", 0, "Usage: pv-ctl buildinfo"},
		{"storage", 1, "Usage: pv-ctl storage"},
		{"objects put x", 1, "Usage: pv-ctl objects"},
		{"objects put -1x sha", 1, "Usage: pv-ctl objects"},
		{"objects get", 1, "Usage: pv-ctl objects"},
		{"objects --help", 0, "Usage: pv-ctl objects"},
		{"steps install", 1, "Usage: pv-ctl steps"},
		{"steps put x", 1, "Usage: pv-ctl steps"},
		{"steps get", 1, "Usage: pv-ctl steps"},
		{"steps show-progress", 1, "Usage: pv-ctl steps"},
		{"steps --help", 0, "Usage: pv-ctl steps"},
		{"graph", 1, "Usage: pv-ctl graph"},
		{"daemons restart", 1, "Usage: pv-ctl daemons"},
		{"drivers", 1, "Usage: pv-ctl drivers"},
		{"drivers rm x", 1, "Usage: pv-ctl drivers"},
		{"drivers --help", 0, "Usage: pv-ctl drivers"},
		{"config --help", 0, "Usage: pv-ctl config"},
		{"conf", 1, "Usage: pv-ctl <configuration|conf>"},
		{"configuration --help", 0, "Usage: pv-ctl <configuration|conf>"},
	} {
		t.Run(tc.args, func(t *testing.T) {
			r := run(t, "", false, strings.Fields(tc.args)...)
			assert.Equal(t, tc.code, r.code)
			assert.True(t, strings.HasPrefix(r.stdout, tc.first), r.stdout)
			assert.Empty(t, r.stderr)
		})
	}
}

func TestVerboseAndOutputFile(t *testing.T) {
	f := ctrltest.New(t)
	f.SetReply(func(ctrltest.Request) (int, string) { return 200, `{"a":1}` })
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, "", false, "-v", "-s", f.Sock, "-f", out, "signal", "ready")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "> POST /signal HTTP/1.1\n")
	assert.Contains(t, r.stderr, "> Content-Type: application/json\n")
	assert.Contains(t, r.stderr, "> Content-Length: 29\n")
	assert.Contains(t, r.stderr, "< 200 ")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "{\"a\":1}\n", string(got))
}

func TestPVTestExec(t *testing.T) {
	var out, errb bytes.Buffer
	c := &ctl{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			if k == "PVTEST_EXEC" {
				return "echo  remote:"
			}
			return ""
		}}
	require.Equal(t, 0, c.main([]string{"pv-ctl", "-s", "x", "steps", "ls"}))
	assert.Equal(t, "remote: pvcontrol -s x steps ls\n", out.String())

	c.getenv = func(string) string { return "false" }
	assert.Equal(t, 1, c.main([]string{"pv-ctl", "ls"}))
	c.getenv = func(string) string { return "/nonexistent/ssh" }
	assert.Equal(t, 127, c.main([]string{"pv-ctl", "ls"}))
}

func TestTrimWriter(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		want   string
	}{
		{nil, ""},
		{[]string{"\n\n"}, ""},
		{[]string{"a\n", "\n", "b\n"}, "a\n\nb"},
		{[]string{"a", strings.Repeat("\n", 100), "b"}, "a" + strings.Repeat("\n", 100) + "b"},
	} {
		var b bytes.Buffer
		w := &trimWriter{w: &b}
		for _, c := range tc.chunks {
			w.Write([]byte(c))
		}
		assert.Equal(t, tc.want, b.String())
	}
}
