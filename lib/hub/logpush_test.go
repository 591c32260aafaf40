package hub

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/http1"
	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/hub/hubtest"
	"pantavisor/lib/hub/proto"
)

// gate is a LogGate the test sets.
type gate struct{ enabled, online, claimed atomic.Bool }

func (g *gate) Enabled() bool { return g.enabled.Load() }
func (g *gate) Online() bool  { return g.online.Load() }
func (g *gate) Claimed() bool { return g.claimed.Load() }

func openGate() *gate {
	g := &gate{}
	g.enabled.Store(true)
	g.online.Store(true)
	g.claimed.Store(true)
	return g
}

// hookLog is a Logger that also calls hook with each line.
type hookLog struct {
	logs
	hook func(line string)
}

func (l *hookLog) Printf(format string, args ...any) {
	l.logs.Printf(format, args...)
	if l.hook != nil {
		l.hook(fmt.Sprintf(format, args...))
	}
}

// pushRig is a fake hub with a registered, claimed device, its creds file
// and a log tree.
type pushRig struct {
	t      *testing.T
	hub    *hubtest.Hub
	id     string
	dir    string // the log tree
	posDir string
	opts   LogPushOptions
	log    *hookLog
}

const tsLayout = "2006-01-02 15:04:05.000000000"

func newPushRig(t *testing.T) *pushRig {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{AutoToken: autoTok})
	c := hubhttp.Client{Host: h.Host(), Port: h.Port(), CAFile: h.CAFile(),
		UserAgent: hubhttp.UserAgent("x86_64", "test", "today"), Timeout: 5 * time.Second}
	r, err := c.Do(context.Background(), "POST", proto.RegisterPath, nil,
		http1.Header{{Name: "Pantahub-Devices-Auto-Token-V1", Value: autoTok}})
	require.NoError(t, err)
	data, err := hubhttp.ReadBody(r, hubhttp.MaxBody)
	require.NoError(t, err)
	d, err := proto.ParseRegister(data)
	require.NoError(t, err)
	dir := t.TempDir()
	creds := filepath.Join(dir, "pantahub.config")
	text, err := proto.SetCreds(nil, proto.Creds{ID: d.ID, PRN: d.PRN, Secret: d.Secret})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(creds, text, 0o600))
	rig := &pushRig{t: t, hub: h, id: d.ID, dir: filepath.Join(dir, "logs"), posDir: filepath.Join(dir, "cache", "logpush"),
		log: &hookLog{}}
	rig.opts = LogPushOptions{Client: c, CredsFile: creds, Dir: rig.dir, PosDir: rig.posDir, Gate: openGate(),
		TimeFormat: "golang:" + tsLayout, Location: time.UTC, MinWait: 5 * time.Millisecond, MaxWait: 20 * time.Millisecond,
		Log: rig.log}
	return rig
}

// start runs a new pusher until the returned stop is called (or the test
// ends).
func (r *pushRig) start() (stop func()) {
	p := NewLogPusher(r.opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	r.t.Cleanup(stop)
	return stop
}

// write appends text to the log file rel.
func (r *pushRig) write(rel, text string) {
	r.t.Helper()
	p := filepath.Join(r.dir, rel)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(r.t, err)
	_, err = f.WriteString(text)
	require.NoError(r.t, err)
	require.NoError(r.t, f.Close())
}

// waitLogs waits until the hub holds n fragments, lets the pusher run a
// little longer, and returns them (then exactly n: nothing more came).
func (r *pushRig) waitLogs(n int) []hubtest.LogEntry {
	r.t.Helper()
	require.Eventually(r.t, func() bool { return len(r.hub.Logs(r.id)) >= n }, 10*time.Second, 5*time.Millisecond,
		"waiting for %d fragments", n)
	time.Sleep(100 * time.Millisecond)
	got := r.hub.Logs(r.id)
	require.Len(r.t, got, n, "fragments: %v", msgs(got))
	return got
}

// logPosts counts the POST /logs/ requests answered with status (0: any).
func (r *pushRig) logPosts(status int) int {
	n := 0
	for _, q := range r.hub.Requests() {
		if q.Method == "POST" && q.Path == proto.LogsPath && (status == 0 || q.Status == status) {
			n++
		}
	}
	return n
}

func msgs(es []hubtest.LogEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Msg)
	}
	return out
}

// byFile groups the fragments by rev/plat/src, in arrival order.
func byFile(es []hubtest.LogEntry) map[string][]hubtest.LogEntry {
	m := map[string][]hubtest.LogEntry{}
	for _, e := range es {
		k := e.Rev + " " + e.Plat + " " + e.Src
		m[k] = append(m[k], e)
	}
	return m
}

func ts(sec int) time.Time { return time.Date(2026, 12, 7, 3, 0, sec, 1000*sec+7, time.UTC) }

func pvLine(sec int, lvl, text string) string {
	return fmt.Sprintf("[pantavisor] [%s] %d %s\t -- [pantavisor]: %s\n", ts(sec).Format(tsLayout), sec, lvl, text)
}

func appLine(sec int, text string) string { return "[" + ts(sec).Format(tsLayout) + "] " + text + "\n" }

// TestLogPushTree: two revisions, several sources: every complete line
// reaches the hub once, in order per file, with its rev, plat, src, level
// and time; rotated files, the singlefile log and the current symlink are
// skipped; a partial last line waits until it is complete.
func TestLogPushTree(t *testing.T) {
	r := newPushRig(t)
	r.write("1/pantavisor/pantavisor.log", pvLine(1, "INFO", "starting")+pvLine(2, "WARN", "careful"))
	r.write("1/app/lxc/lxc.log", appLine(3, "lxc one")+appLine(4, "lxc two"))
	r.write("1/app/lxc/lxc.log.1.gz", "rotated: never sent\n")
	r.write("1/pv.log", `{"msg":"singlefile: never sent"}`+"\n")
	r.write("2/pantavisor/pantavisor.log", pvLine(5, "ERROR", "rev two"))
	r.write("2/app/var/log/messages", "no stamp a\nno stamp b\npartial")
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, os.Chtimes(filepath.Join(r.dir, "2/app/var/log/messages"), mtime, mtime))
	require.NoError(t, os.Symlink("2", filepath.Join(r.dir, "current")))
	r.start()

	got := byFile(r.waitLogs(7))
	type want struct {
		msg  string
		lvl  string
		when time.Time
	}
	check := func(key string, ws ...want) {
		t.Helper()
		es := got[key]
		require.Len(t, es, len(ws), key)
		for i, w := range ws {
			assert.Equal(t, w.msg, es[i].Msg, key)
			assert.Equal(t, w.lvl, es[i].Lvl, key)
			assert.Equal(t, w.when.Unix(), es[i].Tsec, key)
			assert.Equal(t, int64(w.when.Nanosecond()), es[i].Tnano, key)
		}
	}
	trim := func(s string) string { return strings.TrimSuffix(s, "\n") }
	check("1 pantavisor /pantavisor.log", want{trim(pvLine(1, "INFO", "starting")), "INFO", ts(1)},
		want{trim(pvLine(2, "WARN", "careful")), "WARN", ts(2)})
	check("1 app /lxc/lxc.log", want{trim(appLine(3, "lxc one")), "INFO", ts(3)}, want{trim(appLine(4, "lxc two")), "INFO", ts(4)})
	check("2 pantavisor /pantavisor.log", want{trim(pvLine(5, "ERROR", "rev two")), "ERROR", ts(5)})
	check("2 app /var/log/messages", want{"no stamp a", "INFO", mtime}, want{"no stamp b", "INFO", mtime})
	assert.Len(t, got, 4, "files pushed: %v", got)

	r.write("2/app/var/log/messages", " line\n")
	es := r.waitLogs(8)
	assert.Equal(t, "partial line", es[7].Msg)
	assert.Equal(t, "/var/log/messages", es[7].Src)
	assert.Empty(t, r.log.all(), "no log line for successful pushes")
}

// TestLogPushRestart: a new pusher over the same position dir sends only
// the lines that came after.
func TestLogPushRestart(t *testing.T) {
	r := newPushRig(t)
	r.write("1/app/app.log", "a\nb\n")
	r.write("1/pantavisor/pantavisor.log", pvLine(1, "INFO", "pv"))
	stop := r.start()
	r.waitLogs(3)
	stop()
	r.write("1/app/app.log", "c\n")
	r.write("1/other/x.log", "x\n")
	r.start()
	es := r.waitLogs(5)
	assert.ElementsMatch(t, []string{"c", "x"}, msgs(es[3:]))
}

// TestLogPushTruncateRotate: a truncated file, a file rewritten with
// other bytes, a rotation that gzips and one that renames: the new
// file's lines are all sent, the old ones never again.
func TestLogPushTruncateRotate(t *testing.T) {
	r := newPushRig(t)
	r.write("1/a/trunc.log", "t1 long enough line\nt2 long enough line\n")
	r.write("1/a/rewrite.log", "r1\nr2\n")
	r.write("1/a/gz.log", "g1\ng2\n")
	r.write("1/a/ren.log", "n1\nn2\n")
	r.start()
	r.waitLogs(8)
	require.NoError(t, os.Truncate(filepath.Join(r.dir, "1/a/trunc.log"), 0))
	r.write("1/a/trunc.log", "t3\n")
	// Same inode, longer than before, other first bytes.
	require.NoError(t, os.WriteFile(filepath.Join(r.dir, "1/a/rewrite.log"), []byte("R1 rewritten\nR2\n"), 0o644))
	require.NoError(t, os.Rename(filepath.Join(r.dir, "1/a/gz.log"), filepath.Join(r.dir, "1/a/gz.log.1.gz")))
	r.write("1/a/gz.log", "g3 a new file longer than the old one\n")
	require.NoError(t, os.Rename(filepath.Join(r.dir, "1/a/ren.log"), filepath.Join(r.dir, "1/a/ren.log.1")))
	r.write("1/a/ren.log", "n3 a new file longer than the old one\n")
	es := r.waitLogs(13)
	assert.ElementsMatch(t, []string{"t3", "R1 rewritten", "R2", "g3 a new file longer than the old one",
		"n3 a new file longer than the old one"}, msgs(es[8:]))
}

// TestLogPushRelogin: a 401 makes the pusher log in again and retry.
func TestLogPushRelogin(t *testing.T) {
	r := newPushRig(t)
	r.write("1/a/a.log", "one\n")
	r.hub.Fail401(1)
	r.start()
	r.waitLogs(1)
	var seq []string
	for _, q := range r.hub.Requests() {
		if q.Method == "POST" {
			seq = append(seq, fmt.Sprintf("%s %d", q.Path, q.Status))
		}
	}
	assert.Equal(t, []string{"/devices/ 200", "/auth/login 200", "/logs/ 401", "/auth/login 200", "/logs/ 200"}, seq)
}

// TestLogPushRefused: while the hub refuses every connection nothing is
// lost and one line is logged; once it serves again every line arrives.
func TestLogPushRefused(t *testing.T) {
	r := newPushRig(t)
	r.hub.Refuse(true)
	r.write("1/a/a.log", "one\ntwo\n")
	r.start()
	require.Eventually(t, func() bool { return r.hub.Refused() >= 5 }, 5*time.Second, 5*time.Millisecond)
	r.write("1/a/a.log", "three\n")
	require.Eventually(t, func() bool { return r.hub.Refused() >= 8 }, 5*time.Second, 5*time.Millisecond)
	assert.Empty(t, r.hub.Logs(r.id))
	r.hub.Refuse(false)
	es := r.waitLogs(3)
	assert.Equal(t, []string{"one", "two", "three"}, msgs(es))
	lines := r.log.all()
	require.Len(t, lines, 2, "one line per outage and one on recovery: %q", lines)
	assert.Contains(t, lines[0], "push failed")
	assert.Contains(t, lines[1], "pushing again")
}

// TestLogPushNarrow: a batch refused with 400 is narrowed to its first
// line, which is dropped (with a log line) when refused too; the rest
// follows.
func TestLogPushNarrow(t *testing.T) {
	r := newPushRig(t)
	r.write("1/a/a.log", "bad\ngood1\ngood2\n")
	r.write("1/b/b.log", "good3\n")
	r.hub.Answer("POST", proto.LogsPath, 400, []byte(`{"error":"bad"}`))
	r.log.hook = func(line string) {
		if strings.Contains(line, "dropped") {
			r.hub.Answer("POST", proto.LogsPath, 0, nil)
		}
	}
	r.start()
	es := r.waitLogs(3)
	assert.Equal(t, []string{"good1", "good2", "good3"}, msgs(es))
	lines := r.log.all()
	require.Len(t, lines, 1, "%q", lines)
	assert.Contains(t, lines[0], "1/a/a.log")
	assert.Contains(t, lines[0], "400")
	assert.Equal(t, 2, r.logPosts(400), "the batch, then its first line alone")
}

// TestLogPushBatches: 300 short lines take two requests; lines totalling
// more than 256 KiB are split.
func TestLogPushBatches(t *testing.T) {
	r := newPushRig(t)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	r.write("1/a/a.log", b.String())
	stop := r.start()
	es := r.waitLogs(300)
	for i, e := range es {
		require.Equal(t, fmt.Sprintf("line %d", i), e.Msg)
	}
	assert.Equal(t, 2, r.logPosts(200))
	stop()

	big := strings.Repeat("x", 40<<10)
	for i := range 10 {
		r.write("1/a/big.log", fmt.Sprintf("%d%s\n", i, big))
	}
	r.start()
	es = r.waitLogs(310)
	for i, e := range es[300:] {
		require.Equal(t, fmt.Sprintf("%d%s", i, big), e.Msg)
	}
	assert.Equal(t, 4, r.logPosts(200), "6 lines of 40 KiB fit in 256 KiB, 7 do not")
}

// TestLogPushLongLine: a line over the request limit is sent cut, alone,
// and the lines after it follow whole.
func TestLogPushLongLine(t *testing.T) {
	r := newPushRig(t)
	r.write("1/a/a.log", "before\n"+strings.Repeat("y", 300<<10)+"\nafter\n")
	r.start()
	es := r.waitLogs(3)
	assert.Equal(t, "before", es[0].Msg)
	assert.Equal(t, strings.Repeat("y", len(es[1].Msg)), es[1].Msg)
	assert.Less(t, len(es[1].Msg), proto.MaxLogBytes)
	assert.Greater(t, len(es[1].Msg), proto.MaxLogBytes-1024)
	assert.Equal(t, "after", es[2].Msg)
}

// TestLogPushGate: disabled, offline or unclaimed: no request at all;
// the lines go once the gate opens.
func TestLogPushGate(t *testing.T) {
	for _, closed := range []string{"enabled", "online", "claimed"} {
		t.Run(closed, func(t *testing.T) {
			r := newPushRig(t)
			g := openGate()
			map[string]*atomic.Bool{"enabled": &g.enabled, "online": &g.online, "claimed": &g.claimed}[closed].Store(false)
			r.opts.Gate = g
			r.write("1/a/a.log", "one\n")
			before := len(r.hub.Requests())
			r.start()
			time.Sleep(200 * time.Millisecond)
			assert.Len(t, r.hub.Requests(), before, "no request while %s is false", closed)
			g.enabled.Store(true)
			g.online.Store(true)
			g.claimed.Store(true)
			r.waitLogs(1)
		})
	}
}

// TestLogPushDirAway: a log dir that disappears for a while (storage
// away) keeps the positions: nothing is sent twice when it is back.
func TestLogPushDirAway(t *testing.T) {
	r := newPushRig(t)
	r.write("1/a/a.log", "one\n")
	r.start()
	r.waitLogs(1)
	require.NoError(t, os.Rename(r.dir, r.dir+".away"))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, os.Rename(r.dir+".away", r.dir))
	r.write("1/a/a.log", "two\n")
	assert.Equal(t, []string{"one", "two"}, msgs(r.waitLogs(2)))
}
