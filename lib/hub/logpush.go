package hub

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"pantavisor/lib/hub/hubhttp"
	"pantavisor/lib/hub/proto"
	logsrv "pantavisor/lib/logs"
	"pantavisor/lib/persist"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Upstream's wait bounds of the log push (ph_logger's idle backoff).
const (
	DefaultLogPushMinWait = time.Second
	DefaultLogPushMaxWait = 10 * time.Second
)

// LogGate is what the log pusher asks before each round of pushes: the
// push must be enabled (PV_LOG_PUSH, overridden by user-meta
// pantahub.log.push), and the agent must see the hub online and the
// device claimed. An *Agent has Online and Claimed; the integrator adds
// Enabled.
type LogGate interface {
	Enabled() bool
	Online() bool
	Claimed() bool
}

// Online is State().Online (for a LogGate).
func (a *Agent) Online() bool { return a.State().Online }

// Claimed is State().Claimed (for a LogGate).
func (a *Agent) Claimed() bool { return a.State().Claimed }

// LogPushOptions configure a LogPusher. Client, CredsFile, Dir, PosDir
// and Gate are required; zero values of the others mean their defaults.
type LogPushOptions struct {
	// Client is the transport to the hub; its Token is ignored (the
	// pusher logs in on its own).
	Client hubhttp.Client
	// CredsFile is pantahub.config, read at every login.
	CredsFile string
	// Dir is the log tree (the log server's dir, <storage>/logs):
	// <rev>/<platform>/<source...>.
	Dir string
	// PosDir holds one position file per log file (suggested:
	// <storage>/cache/logpush). It must not be inside Dir.
	PosDir string
	// Writer makes the position files durable; nil: a zero
	// persist.Writer.
	Writer *persist.Writer
	// Gate says when to push.
	Gate LogGate
	// TimeFormat is PV_LOG_FILETREE_TIMESTAMP_FORMAT, to read the
	// "[<ts>] " prefix of the lines; AbsoluteTime is PV_LOG_TIMESTAMP
	// "absolute" (pantavisor's <tsec> is then a date); Location is the
	// zone of a prefix without one (nil: time.Local, the log server's).
	TimeFormat   string
	AbsoluteTime bool
	Location     *time.Location
	// MinWait and MaxWait bound the wait after an idle or failed round
	// (1 s and 10 s), doubling from one to the other.
	MinWait, MaxWait time.Duration
	// Log receives the pusher's lines: at most two per outage (the
	// first failure and the recovery), one per line the hub refused,
	// none per request. nil: discard.
	Log Logger
}

// LogPusher ships the log tree to the hub with POST /logs/, like
// upstream's pv-phlogger-push: one fragment per complete line, at most
// proto.MaxLogFragments fragments and proto.MaxLogBytes bytes per
// request, each file's position advanced and persisted only after the
// hub answered 200. Create it with NewLogPusher and start Run once.
//
// Fragments: rev is the revision directory, plat the platform directory,
// src "/" and the path below it ("/pantavisor.log", "/lxc/lxc.log",
// "/var/log/messages"), msg the whole line as stored (without its '\n').
// tsec/tnano are the line's time when it carries one (see lineTime),
// else the file's modification time; lvl is pantavisor's level, else
// INFO.
//
// Positions: one file per log file in PosDir, named by a hash of its
// path in the tree and holding "<inode> <offset> <n> <hash>\n<path>\n",
// where hash is FNV-1a of the file's first n (at most 64) bytes; it is
// written with persist.Writer after each 200 (upstream keeps the offset
// in the xattr trusted.ph.logger.pos). Reading resumes at the offset
// only if the inode and the first bytes still match and the file is at
// least that long; else the file is new (rotated, truncated, rewritten)
// and is read from its start. A file renamed within its directory (a
// rotation by rename) keeps its position under the new name, so its
// lines are not sent again; rotated files whose name contains ".gz" are
// never read, so lines written to a file after its last push and before
// its rotation are not sent (as upstream). Positions of files gone from
// the tree are deleted.
//
// Its own lines go to Log, never into the tree it reads: the integrator
// may point Log at the device's log (the lines then come back as
// pantavisor's), which stays bounded since no success is logged.
//
// Answers: 200 advances; 401 logs in again and retries once; 403, 408,
// 429, 5xx and no answer retry later (403 also logs in again: a token
// from before the claim); another 4xx sends the first line alone, and
// if the hub refuses that too, drops it with a log line.
type LogPusher struct {
	o     LogPushOptions
	tf    *timeParser
	pos   positions
	lr    lineReader
	token string

	loaded bool
	wait   time.Duration
	failed bool // a failure was logged and no success since

	batch proto.LogBatch
	frags []proto.Fragment
	ends  []position // the file's position after each fragment
}

// NewLogPusher returns a pusher; nothing happens before Run.
func NewLogPusher(o LogPushOptions) *LogPusher {
	if o.MinWait <= 0 {
		o.MinWait = DefaultLogPushMinWait
	}
	if o.MaxWait < o.MinWait {
		o.MaxWait = max(DefaultLogPushMaxWait, o.MinWait)
	}
	if o.Writer == nil {
		o.Writer = &persist.Writer{}
	}
	p := &LogPusher{o: o, tf: newTimeParser(o.TimeFormat, o.Location)}
	p.pos = positions{dir: o.PosDir, w: o.Writer}
	p.lr.r = bufioReader()
	return p
}

// Run pushes until ctx is done; start it in its own goroutine. Each round
// pushes every complete line not yet accepted; after a round that sent
// something the next starts at once, after an idle or failed one it
// waits MinWait, doubling up to MaxWait.
func (p *LogPusher) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(p.round(ctx))
	}
}

// errRestart ends a round whose batch was narrowed: the positions moved
// past one line only, so the next round reads again at once.
var errRestart error = &sentinel.Error{Text: "restart"}

// errNoCreds is a creds file without prn or secret.
var errNoCreds error = &sentinel.Error{Text: "no device credentials"}

// round checks the gate, pushes, and returns the wait before the next.
func (p *LogPusher) round(ctx context.Context) time.Duration {
	g := p.o.Gate
	if !g.Enabled() || !g.Claimed() || !g.Online() {
		p.wait = 0
		return p.o.MinWait
	}
	if !p.loaded {
		if err := p.pos.load(); err != nil {
			p.fail(err)
			return p.backoff()
		}
		p.loaded = true
	}
	sent, err := p.push(ctx)
	switch {
	case errors.Is(err, errRestart):
		p.recovered()
		p.wait = 0
		return 0
	case err != nil:
		p.fail(err)
		return p.backoff()
	}
	p.recovered()
	if sent {
		p.wait = 0
		return 0
	}
	return p.backoff()
}

// backoff doubles the wait within MinWait..MaxWait and returns it.
func (p *LogPusher) backoff() time.Duration {
	p.wait = min(max(2*p.wait, p.o.MinWait), p.o.MaxWait)
	return p.wait
}

// fail logs the first failure of an outage.
func (p *LogPusher) fail(err error) {
	if !p.failed && ctxAlive(err) {
		p.logf("hub: logs: push failed, will retry: %v", err)
	}
	p.failed = true
}

// recovered logs the end of an outage.
func (p *LogPusher) recovered() {
	if p.failed {
		p.logf("hub: logs: pushing again")
		p.failed = false
	}
}

func ctxAlive(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func (p *LogPusher) logf(format string, args ...any) {
	if p.o.Log != nil {
		p.o.Log.Printf(format, args...)
	}
}

// push sends the new complete lines of every file, in batches. Steps:
// list the tree and match the positions with it; read each file with
// something new from its position, adding a fragment per line and
// sending the batch whenever the next line does not fit; send the rest.
// sent reports whether the hub accepted anything.
func (p *LogPusher) push(ctx context.Context) (sent bool, err error) {
	files, complete, err := scanTree(p.o.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // no log yet, or the storage is away: keep the positions
	}
	if err != nil {
		return false, err
	}
	p.pos.sync(files, complete)
	p.resetBatch()
	for _, tf := range files {
		if q, ok := p.pos.m[tf.rel]; ok && q.ino == tf.ino && q.off == tf.size {
			continue
		}
		n, err := p.pushFile(ctx, tf)
		sent = sent || n
		if err != nil {
			return sent, err
		}
	}
	if p.batch.Len() == 0 {
		return sent, nil
	}
	return true, p.flush(ctx)
}

// pushFile adds tf's new lines to the batch, sending it when full; sent
// reports whether a batch was accepted.
func (p *LogPusher) pushFile(ctx context.Context, tf treeFile) (sent bool, err error) {
	if err := p.lr.open(p.o.Dir, tf, &p.pos); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // rotated or removed since the scan
		}
		return false, printf.Errorf("reading log %s: %w", tf.rel, err)
	}
	defer p.lr.close()
	for {
		line, end, ok, err := p.lr.next()
		if err != nil {
			return sent, printf.Errorf("reading log %s: %w", tf.rel, err)
		}
		if !ok {
			return sent, nil
		}
		f := p.fragment(line)
		if p.batch.Add(f) {
			p.frags, p.ends = append(p.frags, f), append(p.ends, p.lr.advanced(end))
			continue
		}
		if err := p.flush(ctx); err != nil {
			return sent, err
		}
		sent = true
		p.batch.Add(f) // always fits an empty batch
		p.frags, p.ends = append(p.frags, f), append(p.ends, p.lr.advanced(end))
	}
}

// fragment is the fragment of a line of the file being read.
func (p *LogPusher) fragment(line []byte) proto.Fragment {
	tf := &p.lr.tf
	pv := tf.plat == logsrv.Pantavisor && tf.src == "/pantavisor.log"
	t, ok, lvl := lineTime(line, pv, p.tf, p.o.AbsoluteTime)
	if !ok {
		t = tf.mtime
	}
	return proto.Fragment{Tsec: t.Unix(), Tnano: int32(t.Nanosecond()), Lvl: lvl,
		Src: tf.src, Plat: tf.plat, Rev: tf.rev, Msg: string(line)}
}

func (p *LogPusher) resetBatch() {
	p.batch.Reset()
	clear(p.frags) // drop the lines' text
	p.frags, p.ends = p.frags[:0], p.ends[:0]
}

// flush sends the batch. On 200 every file advances past its lines and
// the batch is emptied. A refused batch (another 4xx) is narrowed: its
// first line goes alone, and is dropped if refused too; the round then
// ends with errRestart. Any other failure leaves the positions as they
// were.
func (p *LogPusher) flush(ctx context.Context) error {
	st, err := p.post(ctx, p.batch.Body())
	if !refused(st) {
		if err != nil {
			return err
		}
		err = p.advance(p.ends)
		p.resetBatch()
		return err
	}
	first := p.frags[0]
	if len(p.frags) > 1 {
		var one proto.LogBatch
		one.Add(first)
		st, err = p.post(ctx, one.Body())
		if err != nil && !refused(st) {
			return err
		}
	}
	if refused(st) {
		p.logf("hub: logs: hub refused a line of %s (status %d), dropped it", p.ends[0].rel, st)
	}
	if err := p.advance(p.ends[:1]); err != nil {
		return err
	}
	return errRestart
}

// refused reports a 4xx that retrying cannot cure: not 401, 403, 408, 429.
func refused(status int) bool {
	return status >= 400 && status < 500 && status != 401 && status != 403 && status != 408 && status != 429
}

// advance saves the last position of each file in ends.
func (p *LogPusher) advance(ends []position) error {
	var errs []error
	for i, e := range ends {
		if i+1 == len(ends) || ends[i+1].rel != e.rel {
			errs = append(errs, p.pos.save(e))
		}
	}
	return errors.Join(errs...)
}

// post sends one POST /logs/ body and returns the status (0: none) and
// an error unless 200. Without a token it logs in first; on a 401 it
// logs in again and retries once; a 403 drops the token too.
func (p *LogPusher) post(ctx context.Context, body []byte) (int, error) {
	if p.token == "" {
		if err := p.login(ctx); err != nil {
			return 0, err
		}
	}
	st, err := p.do(ctx, proto.LogsPath, p.token, body)
	if st == 401 {
		p.token = ""
		if err := p.login(ctx); err != nil {
			return 0, err
		}
		st, err = p.do(ctx, proto.LogsPath, p.token, body)
	}
	if st == 401 || st == 403 {
		p.token = ""
	}
	return st, err
}

// maxAnswer bounds the answer bodies the pusher reads (a login token, or
// {"status":"ok"}).
const maxAnswer = 64 << 10

// do sends POST path with body and returns the status (0: no answer)
// and, unless 200, an error (a *hubhttp.StatusError or
// *hubhttp.NetError). A 200 whose body is then cut still counts: the hub
// took the request.
func (p *LogPusher) do(ctx context.Context, path, token string, body []byte) (int, error) {
	st, _, err := p.doRead(ctx, path, token, body)
	if st == 200 {
		err = nil
	}
	return st, err
}

// doRead is do that also returns the answer's body (at most maxAnswer
// bytes) with the error of reading it.
func (p *LogPusher) doRead(ctx context.Context, path, token string, body []byte) (int, []byte, error) {
	c := p.o.Client
	c.Token = token
	r, err := c.Do(ctx, "POST", path, body, nil)
	if err != nil {
		return 0, nil, err
	}
	data, rerr := hubhttp.ReadBody(r, maxAnswer)
	if r.Status != 200 {
		return r.Status, nil, &hubhttp.StatusError{Op: "POST " + path, Status: r.Status}
	}
	return r.Status, data, rerr
}

// login reads the credentials file and logs in (POST /auth/login).
// Errors never show the secret or the token.
func (p *LogPusher) login(ctx context.Context) error {
	c, err := proto.ReadCredsFile(p.o.CredsFile)
	if err != nil {
		return err
	}
	if c.PRN == "" || c.Secret == "" {
		return errNoCreds
	}
	_, data, err := p.doRead(ctx, proto.LoginPath, "", proto.AppendLogin(nil, c.PRN, c.Secret))
	if err != nil {
		return err
	}
	tok, err := proto.ParseToken(data)
	if err != nil {
		return err
	}
	p.token = tok
	return nil
}
