package logs

import (
	"cmp"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/config"
	"pantavisor/lib/connlimit"
	"pantavisor/lib/unixsock"
)

// DefaultMaxConns is the log sockets' connection cap (MaxConns).
const DefaultMaxConns = 512

// DefaultClassLimits is the log sockets' split of MaxConns: 64 slots for
// pantavisor and the host, 64 for the mgmt containers, and 64 connections
// at most of each other container (one per process that keeps a syslog
// connection open). Non-mgmt containers together hold at most 384.
func DefaultClassLimits() connlimit.Limits {
	return connlimit.Limits{Host: 64, Mgmt: 64, PerContainer: 64}
}

// Socket names in the run dir.
const (
	CtrlSocketName = "pv-ctrl-log"
	FdSocketName   = "pv-fd-log"
)

// UnknownPlatform names a sender whose cgroup cannot be read.
const UnknownPlatform = "unknown-platform"

// Errors of the server.
var (
	ErrClosed     = errors.New("log server closed")
	ErrNoRev      = errors.New("log server has no revision")
	ErrNotAllowed = errors.New("log command from a process other than pantavisor")
)

// Server is the log server. Set the fields, call Start, and Close when
// done; the fields must not change after Start. The zero value listens in
// /run/pantavisor/pv, writes the file tree under /storage/logs and needs
// Rev.
type Server struct {
	RunDir      string // where pv-ctrl-log and pv-fd-log are; default /run/pantavisor/pv
	StorageLogs string // PV_LOG_DIR; default /storage/logs
	Rev         string // running revision: files go to <StorageLogs>/<Rev>/…
	DevLog      string // symlink made to pv-ctrl-log (replacing what is there), normally /dev/log; "" = none
	Kmsg        string // kernel log read by Capture; default /dev/kmsg

	Outputs string // PV_LOG_SERVER_OUTPUTS (see ParseOutputs); "" = filetree
	Level   Level  // PV_LOG_LEVEL: pantavisor's own messages above it are dropped

	DirMaxSize       int64 // PV_LOG_DIR_MAXSIZE (see Budget): bytes, or percent if DirMaxPercent; 0 = auto
	DirMaxPercent    bool
	HysteresisFactor int // PV_LOG_HYSTERESIS_FACTOR; 0 = 4
	RotateFactor     int // PV_LOG_ROTATE_FACTOR; 0 = 5

	Timestamp            string // PV_LOG_TIMESTAMP: "relative" (default; tsec = seconds since boot) or "absolute"
	FiletreeTimeFormat   string // PV_LOG_FILETREE_TIMESTAMP_FORMAT (see FormatTime)
	SinglefileTimeFormat string // PV_LOG_SINGLEFILE_TIMESTAMP_FORMAT
	StdoutTimeFormat     string // PV_LOG_STDOUT_TIMESTAMP_FORMAT

	Stdout io.Writer // the stdout outputs; default os.Stdout

	// Identify names the container of a connected pid; "" is pantavisor
	// itself. Default: the cgroup name below "pantavisor"
	// (cgroup.Manager.NameOf), UnknownPlatform when it cannot be read. It
	// runs in the accept loops, once per connection: it must be quick
	// (a /proc read) and never wait on the client.
	Identify func(pid int) string
	// Mgmt reports whether the container called platform has the mgmt
	// role, for the split of MaxConns (asked once per connection, at
	// accept time). nil: no container has.
	Mgmt func(platform string) bool
	// MaxConns bounds the open connections of pv-ctrl-log and pv-fd-log
	// together; 0 = DefaultMaxConns. A connection over it, or over its
	// caller's share in ClassLimits, is closed at once.
	MaxConns int
	// ClassLimits splits MaxConns between callers (see connlimit): slots
	// only pantavisor and host processes may take, slots only mgmt
	// containers may take, and a cap on each other container (by
	// platform). The zero value means DefaultClassLimits.
	ClassLimits connlimit.Limits
	// Errors, if set, gets every error the server recovers from (a
	// malformed message, an unwritable file). It is called from server
	// goroutines with no lock held and must not block for long.
	Errors func(error)
	// CmdPid is the only pid whose command messages are obeyed; 0 = this
	// process.
	CmdPid int

	mu      sync.Mutex // guards everything below, and every output write
	wg      sync.WaitGroup
	state   int // 0 new, 1 started, 2 closed
	outs    Outputs
	rev     string
	tree    tree
	lns     []*os.File
	conns   map[*os.File]struct{}
	table   *connlimit.Table // open connections by caller class
	subs    map[string]*os.File
	scratch []byte
	partial map[string][]byte // stdout: the unfinished last line of a stream, by platform and source
}

const (
	stateNew = iota
	stateStarted
	stateClosed
)

func (s *Server) runDir() string { return cmp.Or(s.RunDir, config.DefaultRunDir) }

// CtrlSocket returns the path of pv-ctrl-log.
func (s *Server) CtrlSocket() string { return filepath.Join(s.runDir(), CtrlSocketName) }

// FdSocket returns the path of pv-fd-log.
func (s *Server) FdSocket() string { return filepath.Join(s.runDir(), FdSocketName) }

// Start checks the settings and starts serving:
//  1. parse Outputs and check Rev;
//  2. compute the log dir budget and rotation figures (see Budget, Figures);
//  3. listen on pv-ctrl-log and pv-fd-log, and link DevLog to pv-ctrl-log;
//  4. start one goroutine per socket that accepts connections, each
//     served by its own goroutine within MaxConns and ClassLimits.
//
// On error nothing is left running. Call Close to stop.
func (s *Server) Start() error {
	outs, err := ParseOutputs(s.Outputs)
	if err != nil {
		return err
	}
	if err := checkRev(s.Rev); err != nil {
		return err
	}
	t := tree{root: cmp.Or(s.StorageLogs, "/storage/logs")}
	if outs&(Filetree|Singlefile) != 0 {
		if err := os.MkdirAll(t.root, 0o755); err != nil {
			return err
		}
		budget, err := Budget(s.DirMaxSize, s.DirMaxPercent, t.root)
		if err != nil {
			return err
		}
		f := Figures(budget, s.HysteresisFactor, s.RotateFactor)
		t.rot = rotation{budget: f.Budget, high: f.High, low: f.Low, size: f.RotateSize}
		t.rot.cur, _ = t.scan()
	}
	if err := os.MkdirAll(s.runDir(), 0o755); err != nil {
		return err
	}
	ctrl, err := unixsock.Listen(s.CtrlSocket(), 0o666)
	if err != nil {
		return err
	}
	fdl, err := unixsock.Listen(s.FdSocket(), 0o666)
	if err != nil {
		ctrl.Close()
		os.Remove(s.CtrlSocket())
		return err
	}
	if s.DevLog != "" {
		os.Remove(s.DevLog)
		if err := os.Symlink(s.CtrlSocket(), s.DevLog); err != nil {
			ctrl.Close()
			fdl.Close()
			os.Remove(s.CtrlSocket())
			os.Remove(s.FdSocket())
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		ctrl.Close()
		fdl.Close()
		return ErrClosed
	}
	s.state, s.outs, s.rev, s.tree = stateStarted, outs, s.Rev, t
	s.lns = []*os.File{ctrl, fdl}
	s.conns = make(map[*os.File]struct{})
	lim := s.ClassLimits
	if lim == (connlimit.Limits{}) {
		lim = DefaultClassLimits()
	}
	s.table = connlimit.New(cmp.Or(s.MaxConns, DefaultMaxConns), lim)
	s.subs = make(map[string]*os.File)
	s.wg.Add(2)
	go s.acceptLoop(ctrl, s.serveCtrl)
	go s.acceptLoop(fdl, s.serveFd)
	return nil
}

// checkRev accepts a revision usable as the tree's directory: one name,
// or locals/<name> (a local revision logs to logs/locals/<name>, as
// upstream).
func checkRev(rev string) error {
	name, _ := strings.CutPrefix(rev, "locals/")
	if name == "" || name == "." || name == ".." || len(name) > 255 || containsAny(name, "/\x00") {
		return badf(ErrNoRev, "bad revision %q", rev)
	}
	return nil
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

// SetRev switches the file tree outputs to logs/<rev>/ (a transition to
// another revision without reboot).
func (s *Server) SetRev(rev string) error {
	if err := checkRev(rev); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tree.closeAll()
	s.rev = rev
	return nil
}

// Close stops the server: it closes the listeners, every connection and
// every subscribed file descriptor, waits for all the server's goroutines
// to return, closes the log files and removes the sockets and the DevLog
// link (if it still points at pv-ctrl-log). Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return nil
	}
	started := s.state == stateStarted
	s.state = stateClosed
	for _, f := range s.lns {
		f.Close()
	}
	for f := range s.conns {
		f.Close()
	}
	for _, f := range s.subs {
		f.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	s.tree.closeAll()
	s.mu.Unlock()
	if started {
		os.Remove(s.CtrlSocket())
		os.Remove(s.FdSocket())
		if s.DevLog != "" {
			if target, err := os.Readlink(s.DevLog); err == nil && target == s.CtrlSocket() {
				os.Remove(s.DevLog)
			}
		}
	}
	return nil
}

// Log writes one of pantavisor's own messages (platform "pantavisor") as
// one line: its newlines and other control characters are escaped (see
// AppendEscaped), as any text in it may come from a client.
func (s *Server) Log(level Level, source, msg string) error {
	return s.Write(Message{Proto: Text, Level: level, Platform: Pantavisor, Source: source, Data: []byte(msg)})
}

// Write sends m to the outputs; an empty Platform is pantavisor. m.Data
// may be reused by the caller once Write returns.
func (s *Server) Write(m Message) error {
	if m.Platform == "" {
		m.Platform = Pantavisor
	}
	return s.emit(&m)
}

// report hands a recovered error to Errors.
func (s *Server) report(err error) {
	if err != nil && s.Errors != nil {
		s.Errors(err)
	}
}

// caller names the sender pid of a connection: its platform (see
// Identify; pantavisor for "") and its class for the split of MaxConns.
func (s *Server) caller(pid int) (platform string, p connlimit.Peer) {
	id := s.Identify
	if id == nil {
		id = defaultIdentify
	}
	name := id(pid)
	switch {
	case name == "":
		return Pantavisor, connlimit.Peer{Class: connlimit.Host}
	case s.Mgmt != nil && s.Mgmt(name):
		return name, connlimit.Peer{Class: connlimit.Mgmt, Name: name}
	}
	return name, connlimit.Peer{Class: connlimit.Other, Name: name}
}

func defaultIdentify(pid int) string {
	m := cgroup.Manager{Parent: "pantavisor"}
	name, err := m.NameOf(pid)
	if err != nil {
		return UnknownPlatform
	}
	return name
}

// tsec returns the seconds written in a line for a message of time t.
func (s *Server) tsec(t time.Time) int64 {
	if s.Timestamp == "absolute" {
		return t.Unix()
	}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return 0
	}
	return int64(ts.Sec)
}
