package pvtx

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/ctrl/ctrltest"
)

// testdata is lib/pvtx's copy of upstream's conformance files.
const testdata = "../../lib/pvtx/testdata"

// tester runs the applet with PVTXDIR in a temp dir and pv-ctrl at sock.
type tester struct {
	t    *testing.T
	tmp  string
	sock string
	env  map[string]string
	// trustDir is the default trust directory; absent unless a test
	// makes it, so the host's /etc does not matter.
	trustDir string
}

func newTester(t *testing.T, sock string) *tester {
	tmp := t.TempDir()
	return &tester{t: t, tmp: tmp, sock: sock, env: map[string]string{"PVTXDIR": filepath.Join(tmp, "pvtxdir")},
		trustDir: filepath.Join(tmp, "no-trust-dir")}
}

// run runs pvtx ARGS with stdin and returns the exit code and outputs.
func (x *tester) run(stdin io.Reader, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	a := &app{stdin: stdin, stdout: &out, stderr: &errb,
		getenv: func(k string) string { return x.env[k] }, getuid: func() int { return 0 },
		sockets: []string{x.sock}, trustDir: x.trustDir}
	code := a.main(append([]string{"pvtx"}, args...))
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its stdout.
func (x *tester) ok(args ...string) string {
	x.t.Helper()
	code, out, errs := x.run(nil, args...)
	require.Equal(x.t, 0, code, "pvtx %v: %s", args, errs)
	return out
}

func (x *tester) show() string {
	x.t.Helper()
	return x.ok("show")
}

func fileSHA(t *testing.T, data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func read(t *testing.T, path string) []byte {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// test_local_transaction: commit of a local transaction exits 12.
func TestLocalTransactionCommitExits12(t *testing.T) {
	x := newTester(t, "/nonexistent")
	x.ok("abort")
	x.ok("begin", "empty", filepath.Join(x.tmp, "objects"))
	code, out, errs := x.run(nil, "commit")
	assert.Equal(t, 12, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "ERROR: commit: this is a local transaction")
}

// test_create_empty_transaction through the command line.
func TestCreateEmptyTransaction(t *testing.T) {
	x := newTester(t, "/nonexistent")
	x.ok("abort")
	x.ok("begin", "empty")
	assert.Equal(t, `{"#spec":"pantavisor-service-system@1"}`+"\n", x.show())
}

// "add -" reads a package from stdin (the tar, as cat would send it).
func TestAddFromStdin(t *testing.T) {
	x := newTester(t, "/nonexistent")
	obj := filepath.Join(x.tmp, "objects")
	x.ok("begin", "empty", obj)
	code, _, errs := x.run(bytes.NewReader(read(t, filepath.Join(testdata, "watchdog_pinger.tar"))), "add", "-")
	require.Equal(t, 0, code, errs)
	assert.JSONEq(t, string(read(t, filepath.Join(testdata, "expected", "state_after_add_from_tar.json"))), x.show())
	assert.FileExists(t, filepath.Join(obj, "f1379c31ed0d24b03f8780a0bbf01b86720ec877eefdc0adc34eb679a4310235"))
}

func TestBeginCurrentReadsTheRunningRevision(t *testing.T) {
	f := ctrltest.New(t)
	state := read(t, filepath.Join(testdata, "initial_state.json"))
	f.SetReply(func(r ctrltest.Request) (int, string) { return 200, string(state) })
	x := newTester(t, f.Sock)
	x.ok("begin")
	assert.Equal(t, string(state)+"\n", x.show(), "the base is kept as pv-ctrl sent it")
	x.ok("abort")
	x.ok("begin", "current")
	reqs := f.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, "GET /steps/current", r.Method+" "+r.Target)
	}
}

func TestBeginCurrentFailureKeepsTheQueue(t *testing.T) {
	f := ctrltest.New(t)
	f.SetReply(func(ctrltest.Request) (int, string) { return 404, `{"Error":"Resource does not exist"}` })
	x := newTester(t, f.Sock)
	q := filepath.Join(x.tmp, "queue")
	x.ok("queue", "new", q, filepath.Join(x.tmp, "objects"))
	x.ok("queue", "remove", "nginx")
	code, _, errs := x.run(nil, "begin", "current")
	assert.Equal(t, 255, code)
	assert.Contains(t, errs, "ERROR: begin: ")
	assert.Contains(t, errs, "404")
	assert.Contains(t, errs, "Resource does not exist")
	// The queue survived: its next entry is 001.
	x.ok("queue", "remove", "_sigs/nginx.json")
	assert.FileExists(t, filepath.Join(q, "001___sigs%2Fnginx.json.remove"))
}

func TestRemoteAddUploadsEachObject(t *testing.T) {
	f := ctrltest.New(t)
	x := newTester(t, f.Sock)
	x.ok("begin", "empty")
	x.ok("add", filepath.Join(testdata, "watchdog_pinger.tar"))
	reqs := f.Requests()
	require.Len(t, reqs, 3, "one request (and connection) per object")
	for _, r := range reqs {
		assert.Equal(t, "PUT", r.Method)
		assert.Equal(t, "application/octet-stream", r.CType)
		sha := strings.TrimPrefix(r.Target, "/objects/")
		assert.Equal(t, sha, fileSHA(t, []byte(r.Body)), "the body is the object")
	}
	assert.JSONEq(t, string(read(t, filepath.Join(testdata, "expected", "state_after_add_from_tar.json"))), x.show())
}

func TestRemoteAddRefusedByPVCtrl(t *testing.T) {
	for status, want := range map[int]int{422: 90, 507: 5, 500: 12} {
		f := ctrltest.New(t)
		f.SetReply(func(ctrltest.Request) (int, string) { return status, `{"Error":"Object has bad checksum"}` })
		x := newTester(t, f.Sock)
		x.ok("begin", "empty")
		code, _, errs := x.run(nil, "add", filepath.Join(testdata, "watchdog_pinger.tar"))
		assert.Equal(t, want, code, "HTTP %d", status)
		assert.Contains(t, errs, "ERROR: add: ")
		assert.Contains(t, errs, "Object has bad checksum")
		assert.Len(t, f.Requests(), 1, "stops at the first refused object")
		assert.Equal(t, `{"#spec":"pantavisor-service-system@1"}`+"\n", x.show(), "state unchanged")
	}
}

func TestCommitPutsTheStepAndPrintsTheRevision(t *testing.T) {
	f := ctrltest.New(t)
	x := newTester(t, f.Sock)
	x.ok("begin", "empty")
	x.ok("add", filepath.Join(testdata, "os.json"))
	state := strings.TrimSuffix(x.show(), "\n")
	out := x.ok("commit")
	assert.Regexp(t, regexp.MustCompile(`^locals/pvtx-\d+-`+fileSHA(t, []byte(state))[:8]+`-\d{1,3}\n$`), out)
	reqs := f.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "PUT /steps/"+strings.TrimSpace(out), reqs[0].Method+" "+reqs[0].Target)
	assert.Equal(t, "application/json", reqs[0].CType)
	assert.Equal(t, state, reqs[0].Body)
	code, _, _ := x.run(nil, "show")
	assert.Equal(t, 11, code, "committed: no active transaction")

	x.ok("begin", "empty")
	assert.Equal(t, "locals/mine\n", x.ok("commit", "locals/mine"))
	assert.Equal(t, "/steps/locals/mine", f.Requests()[1].Target)
}

func TestCommitFailureKeepsTheTransaction(t *testing.T) {
	f := ctrltest.New(t)
	f.SetReply(func(ctrltest.Request) (int, string) { return 422, `{"Error":"Parser: State JSON has bad format"}` })
	x := newTester(t, f.Sock)
	x.ok("begin", "empty")
	code, out, errs := x.run(nil, "commit")
	assert.Equal(t, 255, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, "State JSON has bad format")
	x.show() // still active

	code, _, errs = x.run(nil, "commit", "other/name")
	assert.Equal(t, 255, code)
	assert.Contains(t, errs, "locals/")
	assert.Len(t, f.Requests(), 1, "a bad name is refused before any request")
}

func TestNoSocket(t *testing.T) {
	x := newTester(t, filepath.Join(t.TempDir(), "absent"))
	code, _, errs := x.run(nil, "begin")
	assert.Equal(t, 255, code)
	assert.Contains(t, errs, "pv-ctrl socket not found")
}

// TestExitCodes is upstream's exit code table, one row per case.
func TestExitCodes(t *testing.T) {
	state := filepath.Join(testdata, "os.json")
	for _, c := range []struct {
		name  string
		setup [][]string
		args  []string
		code  int
		out   string // in stdout
		err   string // in stderr
	}{
		{name: "no command", args: nil, code: 255, out: "Usage:"},
		{name: "empty command", args: []string{""}, code: 1, out: "Usage:"},
		{name: "help", args: []string{"help"}, code: 0, out: "Usage: pvtx COMMAND"},
		{name: "--help", args: []string{"--help"}, code: 0, out: "queue"},
		{name: "unknown", args: []string{"bogus"}, code: 255, err: "ERROR: command process: sub command not found: bogus"},
		{name: "queue alone", args: []string{"queue"}, code: 255, err: "ERROR: command process:"},
		{name: "abort nothing", args: []string{"abort"}, code: 0},
		{name: "begin twice", setup: [][]string{{"begin", "empty"}}, args: []string{"begin", "empty"}, code: 255, err: "already in progress"},
		{name: "begin missing file", args: []string{"begin", "/nonexistent/x.json"}, code: 255, err: "ERROR: begin:"},
		{name: "begin by prefix", args: []string{"beginning", "empty"}, code: 0},
		{name: "add no argument", setup: [][]string{{"begin", "empty"}}, args: []string{"add"}, code: 255, err: "missing argument"},
		{name: "add no transaction", args: []string{"add", state}, code: 1, err: "ERROR: add: no active transaction"},
		{name: "remove no argument", args: []string{"remove"}, code: 4, err: "must supply a part name"},
		{name: "remove no transaction", args: []string{"remove", "os"}, code: 3},
		{name: "show no transaction", args: []string{"show"}, code: 11},
		{name: "commit no transaction", args: []string{"commit"}, code: 11},
		{name: "deploy no directory", args: []string{"deploy"}, code: 1, err: "missing deploy folder"},
		{name: "deploy no transaction", args: []string{"deploy", "@d"}, code: 11},
		{name: "deploy remote", setup: [][]string{{"begin", "empty"}}, args: []string{"deploy", "@d"}, code: 255, err: "remote transaction"},
		{name: "queue new no queue", args: []string{"queue", "new"}, code: 1, err: "queue argument is required"},
		{name: "queue new no objects", args: []string{"queue", "new", "@q"}, code: 1, err: "objects argument is required"},
		{name: "queue new in transaction", setup: [][]string{{"begin", "empty"}}, args: []string{"queue", "new", "@q", "@o"}, code: 12},
		{name: "q prefix", args: []string{"q", "new", "@q", "@o"}, code: 0},
		{name: "queue remove no queue", args: []string{"queue", "remove", "x"}, code: 1, err: "ERROR: queue remove: no queue"},
		{name: "queue remove no argument", args: []string{"queue", "remove"}, code: 1},
		{name: "queue unpack no queue", args: []string{"queue", "unpack", state}, code: 1},
		{name: "queue unpack no argument", args: []string{"queue", "unpack"}, code: 1},
		{name: "queue process no transaction", setup: [][]string{{"queue", "new", "@q", "@o"}}, args: []string{"queue", "process"}, code: 3},
		{name: "queue process no queue", args: []string{"queue", "process"}, code: 255},
		{name: "queue process new in transaction", setup: [][]string{{"begin", "empty"}}, args: []string{"queue", "process", "empty", "@q", "@o"}, code: 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newTester(t, "/nonexistent")
			for _, s := range c.setup {
				x.ok(x.paths(s)...)
			}
			code, out, errs := x.run(nil, x.paths(c.args)...)
			assert.Equal(t, c.code, code, "stdout %q stderr %q", out, errs)
			assert.Contains(t, out, c.out)
			assert.Contains(t, errs, c.err)
		})
	}
}

// paths makes the directory names @q, @o and @d of the table absolute in
// the tester's temp dir.
func (x *tester) paths(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if name, ok := strings.CutPrefix(a, "@"); ok {
			out[i] = filepath.Join(x.tmp, name)
		}
	}
	return out
}

func TestDirDefaults(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		uid  int
		want string
	}{
		{map[string]string{"PVTXDIR": "/x", "PREFIX": "/p", "HOME": "/h"}, 0, "/x"},
		{map[string]string{}, 0, "/var/cache/pvtx"},
		{map[string]string{"PREFIX": "/p", "HOME": "/h"}, 0, "/p/var/cache/pvtx"},
		{map[string]string{"PREFIX": "/p", "HOME": "/h"}, 1000, "/h/.local/share/pvtx"},
		{map[string]string{}, 1000, "/var/cache/pvtx"},
	} {
		a := &app{getenv: func(k string) string { return c.env[k] }, getuid: func() int { return c.uid }}
		assert.Equal(t, c.want, a.dir(), "%v uid %d", c.env, c.uid)
	}
}
