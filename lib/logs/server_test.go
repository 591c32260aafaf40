package logs

import (
	"encoding/json"
	"os"
	"pantavisor/lib/testenv"
	"pantavisor/lib/unixsock"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// errLog collects the errors a server reports.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errLog) list() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// startServer starts a server in a temp dir whose senders are all the
// container "app", after mod adjusts it; it is closed at the end of t.
func startServer(t *testing.T, mod func(*Server)) (*Server, *errLog) {
	t.Helper()
	dir := t.TempDir()
	el := &errLog{}
	s := &Server{
		RunDir:      filepath.Join(dir, "run"),
		StorageLogs: filepath.Join(dir, "logs"),
		Rev:         "1",
		DevLog:      filepath.Join(dir, "devlog"),
		Level:       Debug,
		DirMaxSize:  64 << 20,
		Identify:    func(int) string { return "app" },
		Errors:      el.add,
	}
	if mod != nil {
		mod(s)
	}
	require.NoError(t, s.Start())
	t.Cleanup(func() { s.Close() })
	return s, el
}

// send connects to path, writes each message and closes.
func send(t *testing.T, path string, msgs ...[]byte) {
	t.Helper()
	c, err := unixsock.Dial(path, 0)
	require.NoError(t, err)
	for _, m := range msgs {
		_, err := c.Write(m)
		require.NoError(t, err)
	}
	require.NoError(t, c.Close())
}

// waitFile waits until the file at path holds want.
func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got, _ = os.ReadFile(path)
		if string(got) == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.Equal(t, want, string(got), path)
}

func TestServerProtocols(t *testing.T) {
	s, el := startServer(t, nil)
	logs := filepath.Join(s.StorageLogs, "1")
	tests := []struct {
		name string
		msg  []byte
		file string
		want string
	}{
		{"json", AppendJSON(nil, Info, "myapp", "hello"), "app/myapp", "hello\n"},
		{"kv", []byte(`level=WARN src=kvsrc message="hello world"`), "app/kvsrc", "hello world\n"},
		{"rfc5424", []byte("<34>1 2003-10-11T22:14:15.003Z host su - ID47 - 'su root' failed"), "app/su", "'su root' failed\n"},
		{"rfc3164", []byte("<30>Oct 11 22:14:15 dhcpcd[345]: eth0: leased\n"), "app/dhcpcd", "eth0: leased\n"},
		{"legacy with platform", AppendLegacy(nil, Info, "other", "lxc/console.log", []byte("raw line\n")), "other/lxc/console.log", "raw line\n"},
		{"legacy without platform", AppendLegacy(nil, Info, "", "legacy", []byte("no newline added")), "app/legacy", "no newline added"},
		{"absolute source", AppendJSON(nil, Info, "/var/log/messages", "m"), "app/var/log/messages", "m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, s.CtrlSocket(), tt.msg)
			waitFile(t, filepath.Join(logs, tt.file), tt.want)
		})
	}
	t.Run("through /dev/log", func(t *testing.T) {
		send(t, s.DevLog, []byte("<14>Jan  1 00:00:00 viadevlog: ok"))
		waitFile(t, filepath.Join(logs, "app/viadevlog"), "ok\n")
	})
	t.Run("glibc style, several messages on one connection", func(t *testing.T) {
		send(t, s.CtrlSocket(), []byte("<14>Jan  1 00:00:00 multi: one\x00<14>Jan  1 00:00:01 multi: two\x00"),
			[]byte("<14>Jan  1 00:00:02 multi: thr"), []byte("ee\x00"))
		waitFile(t, filepath.Join(logs, "app/multi"), "one\ntwo\nthree\n")
	})
	t.Run("malformed and hostile", func(t *testing.T) {
		nul := []byte{0}
		send(t, s.CtrlSocket(), []byte(`{"version":"1","level":"INFO","src":"x","message":"m"}`), nul,
			AppendJSON(nil, Info, "../../escape", "m"), nul, []byte("just text"), nul,
			AppendLegacy(nil, Info, "../up", "s", []byte("d")), AppendJSON(nil, Info, "after", "m"))
		waitFile(t, filepath.Join(logs, "app/after"), "m\n")
		errs := el.list()
		require.Len(t, errs, 4)
		assert.ErrorIs(t, errs[0], ErrMalformed)
		assert.ErrorIs(t, errs[1], ErrBadName)
		assert.ErrorIs(t, errs[2], ErrUnknownProtocol)
		assert.ErrorIs(t, errs[3], ErrBadName)
		assert.NoDirExists(t, filepath.Join(logs, "up"))
		assert.NoFileExists(t, filepath.Join(s.StorageLogs, "escape"))
		assert.NoDirExists(t, filepath.Join(logs, "app/x"))
	})
}

func TestServerPantavisorLog(t *testing.T) {
	s, _ := startServer(t, func(s *Server) {
		s.Level = Info
		s.Identify = func(int) string { return "" }
		s.Timestamp = "absolute"
	})
	require.NoError(t, s.Log(Debug, "engine", "dropped by PV_LOG_LEVEL"))
	require.NoError(t, s.Log(Info, "engine", "started\nsecond line"))
	send(t, s.CtrlSocket(), AppendKV(nil, Error, "ctrl", "from the socket"))
	send(t, s.CtrlSocket(), AppendKV(nil, Trace, "ctrl", "dropped too"))
	path := filepath.Join(s.StorageLogs, "1/pantavisor/pantavisor.log")
	var got string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(path)
		got = string(b)
		return strings.Count(got, "\n") == 2
	}, 5*time.Second, 5*time.Millisecond)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	// One message is one line: its newline is escaped (issue 13, item 6).
	want := []string{"INFO\t -- [engine]: started\\nsecond line", "ERROR\t -- [ctrl]: from the socket"}
	now := time.Now().Unix()
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "[pantavisor] ")
		require.True(t, ok, l)
		tsec, rest, _ := strings.Cut(rest, " ")
		assert.InDelta(t, now, atoi(t, tsec), 10, l)
		assert.Equal(t, want[i], rest)
	}
	assert.NotContains(t, got, "dropped")
}

func atoi(t *testing.T, s string) float64 {
	var n int64
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int64(c-'0')
	}
	return float64(n)
}

func TestServerOutputs(t *testing.T) {
	out := &testenv.Buffer{}
	s, _ := startServer(t, func(s *Server) {
		s.Outputs = "singlefile,stdout.containers"
		s.Stdout = out
		s.SinglefileTimeFormat = "golang:2006"
	})
	require.NoError(t, s.Log(Info, "engine", "pv message"))
	send(t, s.CtrlSocket(), AppendJSON(nil, Warn, "web", "line \"1\"\nline 2"))
	path := filepath.Join(s.StorageLogs, "1/pv.log")
	var lines []string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(path)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		return len(lines) == 2
	}, 5*time.Second, 5*time.Millisecond)
	year := time.Now().Format("2006")
	want := []map[string]any{
		{"tnano": 0.0, "ts": year, "platform": "pantavisor", "lvl": "INFO", "src": "engine", "msg": "pv message"},
		// One message is one line: its newline is escaped (issue 13, item 6).
		{"tnano": 0.0, "ts": year, "platform": "app", "lvl": "WARN", "src": "web", "msg": `line "1"\nline 2`},
	}
	for i, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		assert.IsType(t, 0.0, m["tsec"])
		delete(m, "tsec")
		assert.Equal(t, want[i], m)
	}
	assert.NoDirExists(t, filepath.Join(s.StorageLogs, "1/app"), "no filetree")
	got := out.String()
	assert.Contains(t, got, "WARN\t -- [web]: line \"1\"\\nline 2\n")
	assert.NotContains(t, got, "pv message", "stdout.containers leaves pantavisor out")
}

func TestServerNullsink(t *testing.T) {
	s, _ := startServer(t, func(s *Server) { s.Outputs = "nullsink" })
	require.NoError(t, s.Log(Fatal, "x", "y"))
	send(t, s.CtrlSocket(), AppendJSON(nil, Info, "a", "b"))
	time.Sleep(50 * time.Millisecond)
	ents, _ := os.ReadDir(s.StorageLogs)
	assert.Empty(t, ents)
}

func TestServerTransition(t *testing.T) {
	s, el := startServer(t, nil)
	send(t, s.CtrlSocket(), AppendJSON(nil, Info, "s", "in rev 1"))
	waitFile(t, filepath.Join(s.StorageLogs, "1/app/s"), "in rev 1\n")
	send(t, s.CtrlSocket(), AppendCommand(nil, CmdTransition, "2"), AppendJSON(nil, Info, "s", "in rev 2"))
	waitFile(t, filepath.Join(s.StorageLogs, "2/app/s"), "in rev 2\n")
	assert.Empty(t, el.list())

	assert.ErrorIs(t, s.SetRev("../x"), ErrNoRev)

	s2, el2 := startServer(t, func(s *Server) { s.CmdPid = 1 }) // commands must come from pid 1: we are a stranger
	send(t, s2.CtrlSocket(), AppendCommand(nil, CmdTransition, "3"), AppendJSON(nil, Info, "s", "still rev 1"))
	waitFile(t, filepath.Join(s2.StorageLogs, "1/app/s"), "still rev 1\n")
	require.Len(t, el2.list(), 1)
	assert.ErrorIs(t, el2.list()[0], ErrNotAllowed)
	assert.NoDirExists(t, filepath.Join(s2.StorageLogs, "3"))
}

func TestServerDefaultIdentify(t *testing.T) {
	// This test process is in no group below "pantavisor": it is pantavisor.
	s, _ := startServer(t, func(s *Server) { s.Identify = nil })
	send(t, s.CtrlSocket(), AppendJSON(nil, Info, "self", "me"))
	path := filepath.Join(s.StorageLogs, "1/pantavisor/pantavisor.log")
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), "INFO\t -- [self]: me\n")
	}, 5*time.Second, 5*time.Millisecond)
}

func TestServerStartErrors(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []*Server{
		{RunDir: dir, StorageLogs: dir, Rev: ""},
		{RunDir: dir, StorageLogs: dir, Rev: "a/b"},
		{RunDir: dir, StorageLogs: dir, Rev: "1", Outputs: "tape"},
		{RunDir: filepath.Join(dir, strings.Repeat("x", 120)), StorageLogs: dir, Rev: "1"},
	} {
		assert.Error(t, s.Start())
		assert.NoError(t, s.Close())
	}
	var s Server
	assert.ErrorIs(t, s.Log(Fatal, "a", "b"), ErrNotStarted)
}

func TestServerCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	el := &errLog{}
	s := &Server{RunDir: dir, StorageLogs: filepath.Join(dir, "logs"), Rev: "1", DevLog: filepath.Join(dir, "devlog"),
		Identify: func(int) string { return "app" }, Errors: el.add}
	require.NoError(t, s.Start())

	idle, err := unixsock.Dial(s.CtrlSocket(), 0) // a client that never closes
	require.NoError(t, err)
	defer idle.Close()
	_, err = idle.Write([]byte("level=INFO src=idle message=partial"))
	require.NoError(t, err)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer w.Close()
	require.NoError(t, s.Subscribe(r, "app", "console", Info))
	fdc, err := unixsock.Dial(s.FdSocket(), 0) // an idle pv-fd-log client
	require.NoError(t, err)
	defer fdc.Close()
	waitFile(t, filepath.Join(s.StorageLogs, "1/app/idle"), "partial\n")

	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	for i := 0; i < 500 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond) // Eventually would count its own goroutines
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left running")
	assert.NoFileExists(t, s.CtrlSocket())
	assert.NoFileExists(t, s.FdSocket())
	_, err = os.Lstat(s.DevLog)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorIs(t, s.Log(Fatal, "a", "b"), ErrClosed)
	_, err = Dial(s.CtrlSocket())
	assert.ErrorIs(t, err, unix.ENOENT)
	assert.ErrorIs(t, s.Subscribe(must(os.Open(os.DevNull)), "a", "b", Info), ErrClosed)
	assert.NoError(t, s.Close(), "Close twice")
	assert.Empty(t, el.list(), "Close is not an error")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestBudget(t *testing.T) {
	dir := t.TempDir()
	n, err := Budget(123, false, "")
	require.NoError(t, err)
	assert.Equal(t, int64(123), n)
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	total := int64(st.Blocks) * int64(st.Bsize)
	n, err = Budget(50, true, dir)
	require.NoError(t, err)
	assert.Equal(t, total/2, n)
	n, err = Budget(0, false, dir)
	require.NoError(t, err)
	if int64(st.Type) == unix.TMPFS_MAGIC {
		assert.Equal(t, total, n)
	} else {
		assert.Equal(t, total/10, n)
	}
	_, err = Budget(0, false, filepath.Join(dir, "none"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestStdoutWholeLines: console chunks cut lines anywhere; the stdout
// output prints each line once, whole, and holds an unfinished one.
func TestStdoutWholeLines(t *testing.T) {
	var out testenv.Buffer
	s, _ := startServer(t, func(s *Server) { s.Outputs = "filetree,stdout.containers"; s.Stdout = &out })
	for _, chunk := range []string{"hel", "lo\nwor", "ld\n", "tail"} {
		require.NoError(t, s.Write(Message{Proto: Raw, Level: Info, Platform: "app", Source: "lxc/console.log", Data: []byte(chunk)}))
	}
	got := out.String()
	assert.Regexp(t, `(?m)^\[app\] \d+ INFO\t -- \[lxc/console.log\]: hello\n\[app\] \d+ INFO\t -- \[lxc/console.log\]: world\n$`, got)
	assert.NotContains(t, got, "tail", "an unfinished line waits for its end")

	long := strings.Repeat("x", maxPartial)
	require.NoError(t, s.Write(Message{Proto: Raw, Level: Info, Platform: "app", Source: "other", Data: []byte(long)}))
	assert.Contains(t, out.String(), "]: "+long+"\n", "a line longer than the bound is printed as it is")
	file, err := os.ReadFile(filepath.Join(s.StorageLogs, "1", "app", "lxc", "console.log"))
	require.NoError(t, err)
	assert.Equal(t, "hello\nworld\ntail", string(file), "the file tree keeps the raw stream")
}
