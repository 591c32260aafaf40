// Package pvlogger is the pvlogger applet: send log messages to the log
// server, like logger(1), from pantavisor's side or from inside a
// container (where the socket is /pantavisor/pv-ctrl-log).
//
// Synopsis:
//
//	pvlogger [-s SRC] [-l LEVEL] [-p RUNDIR|SOCKET] [MSG...]
//
// With MSG, the words are joined by spaces into one message; without, each
// non-empty line of stdin is one message. Messages are sent in the JSON
// format on one connection; the log server files them under the caller's
// container (its cgroup) as logs/<rev>/<container>/<SRC>.
//
// Options:
//
//	-s SRC     source, the file name in the log tree (default pvlogger)
//	-l LEVEL   FATAL, ERROR, WARN, INFO, DEBUG or TRACE, any case, or 0-5 (default INFO)
//	-p PATH    the pv-ctrl-log socket, or a run dir holding it (default: the
//	           first of /pantavisor/pv-ctrl-log, /run/pantavisor/pv/pv-ctrl-log
//	           and /pv/pv-ctrl-log that exists)
//
// Exit codes: 0 sent, 1 the log server is unreachable or the connection
// broke, 2 usage error.
package pvlogger

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"pantavisor/lib/cli"
	"pantavisor/lib/logs"
	"pantavisor/lib/printf"
)

const usage = `Usage: pvlogger [-s SRC] [-l LEVEL] [-p RUNDIR|SOCKET] [MSG...]

Send MSG, or each line of stdin, to the Pantavisor log server.
`

// defaultSockets are tried in order when -p is not given: inside a
// container, then the run dir of this project and upstream's default.
var defaultSockets = [...]string{"/pantavisor/pv-ctrl-log", "/run/pantavisor/pv/pv-ctrl-log", "/pv/pv-ctrl-log"}

type options struct {
	src, path string
	level     logs.Level
	msg       []string
}

// Main runs the applet with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlags(args[0], usage, stdout, stderr)
	src := fs.String("s", "pvlogger", "source: the file name in the log tree")
	level := fs.String("l", "INFO", "level: FATAL, ERROR, WARN, INFO, DEBUG, TRACE or 0-5")
	path := fs.String("p", "", "pv-ctrl-log socket or run dir (default: first of "+strings.Join(defaultSockets[:], ", ")+")")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	o := options{src: *src, path: *path, msg: fs.Args()}
	var err error
	if o.level, err = logs.ParseLevel(*level); err != nil {
		return fs.UsageError("bad level " + *level)
	}
	if o.src == "" {
		return fs.UsageError("empty source")
	}
	if err := run(o, stdin); err != nil {
		printf.Fprintf(stderr, "%s: %v\n", args[0], err)
		return cli.ExitFail
	}
	return cli.ExitOK
}

var errNoSocket = errors.New("no log server socket found")

// run connects and sends the message or stdin's lines.
func run(o options, stdin io.Reader) error {
	path := o.path
	if path == "" {
		for _, p := range defaultSockets {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
		if path == "" {
			return printf.Errorf("%w (tried %s); give one with -p", errNoSocket, strings.Join(defaultSockets[:], ", "))
		}
	}
	c, err := logs.Dial(path)
	if err != nil {
		return printf.Errorf("cannot reach the log server: %w", err)
	}
	defer c.Close()
	if len(o.msg) > 0 {
		return send(c, o, strings.Join(o.msg, " "))
	}
	r := bufio.NewReader(stdin)
	for {
		line, err := r.ReadString('\n')
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			if err := send(c, o, line); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return printf.Errorf("reading stdin: %w", err)
		}
	}
}

func send(c *logs.Client, o options, msg string) error {
	if err := c.Send(o.level, o.src, msg); err != nil {
		return printf.Errorf("sending to the log server: %w", err)
	}
	return nil
}
