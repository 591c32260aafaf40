// Package pvctl is the pv-ctl applet (also called pvcontrol): upstream
// pvcontrol's commands, output and exit codes over the pv-ctrl socket,
// spoken with lib/http1 instead of curl.
//
// Synopsis:
//
//	pv-ctl [-h] [-v] [-s SOCKET] [-f FILE] [-m MSG] COMMAND [ARGS...]
//
// Options (before the command, as upstream):
//
//	-h         print the usage and exit 0 (COMMAND --help prints that command's)
//	-v         print the request and response headers on stderr
//	-s SOCKET  the pv-ctrl socket (default: the first of /run/pantavisor/pv/pv-ctrl
//	           and /pv/pv-ctrl that is a socket, else /pantavisor/pv-ctrl)
//	-f FILE    write standard output to FILE (for objects get: the object)
//	-m MSG     commit message for steps put and steps install
//
// Environment: PVTEST_EXEC, when set, runs "$PVTEST_EXEC pvcontrol ARGS..."
// instead (the test harness's way to reach a device) and returns its exit
// code. CURL_CMD and CURL_ARGS are curl settings of the upstream script and
// are ignored.
//
// Output: on HTTP 200 the body, without its trailing newlines, and one
// newline go to stdout (an empty body gives an empty line). On any other
// status the body goes to stderr the same way.
//
// Deviations from the upstream script:
//   - steps install stops at the first failed request (GET /objects, an
//     object or step upload, the commit message), prints that reply's body
//     on stderr and exits with its code; upstream ignores errors and exits 0.
//     It also needs at least one object in the package (upstream accepts an
//     empty objects/ directory), and finds an existing revision by its
//     exact "name" in GET /steps rather than by substring.
//   - JSON payloads are escaped; names in paths have controls, space and
//     non-ASCII bytes percent-encoded (the script pastes both raw).
//   - No connection: the error goes to stderr (curl's script prints an
//     empty line there); the exit code is 255 all the same.
//   - curl's --connect-timeout 5 has no separate counterpart (see
//     requestTimeout).
//
// Exit codes: 0 HTTP 200; 1 usage error or missing socket; 48 body
// {"Error":"Not enough disk space available"}; 60 body {"Error":"Object has
// bad checksum"}; 70 body {"Error":"State verification has failed"}; 75
// HTTP 503; 255 any other status, or no connection.
package pvctl

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"pantavisor/lib/printf"
)

// Exit codes of upstream pvcontrol.
const (
	exitOK       = 0
	exitUsage    = 1 // also: socket not found, bad package
	exitNoSpace  = 48
	exitChecksum = 60
	exitVerify   = 70
	exitBusy     = 75 // HTTP 503
	exitHTTP     = 255
)

// Timeouts of the upstream script (curl --max-time). curl's separate
// --connect-timeout 5 has no counterpart: http1.Client has one timeout for
// the whole request, and connecting to a unix socket does not wait.
const (
	requestTimeout = 240 * time.Second
	objectTimeout  = 14400 * time.Second
)

// options are the global options and the command line after them.
type options struct {
	name    string // the name pv-ctl was called by, for the usage text
	verbose bool
	socket  string
	output  string
	message string
	args    []string // the command and its arguments
}

// ctl is one run of the applet: its options, streams and seams.
type ctl struct {
	opts           options
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: draw a progress bar

	// Seams for tests: socket candidates (the last one is the fallback
	// used even when it does not exist) and the environment.
	sockets []string
	getenv  func(string) string
	now     func() time.Time
}

// Main runs pv-ctl with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &ctl{
		stdin: stdin, stdout: stdout, stderr: stderr,
		tty:     isTerminal(stderr),
		sockets: []string{"/run/pantavisor/pv/pv-ctrl", "/pv/pv-ctrl", "/pantavisor/pv-ctrl"},
		getenv:  os.Getenv,
		now:     time.Now,
	}
	return c.main(args)
}

// main does what Main says, with the seams of c set. Steps: PVTEST_EXEC,
// options, command, socket check, -f, then the command itself.
func (c *ctl) main(args []string) int {
	if len(args) == 0 {
		args = []string{"pvcontrol"}
	}
	if spec := c.getenv("PVTEST_EXEC"); spec != "" {
		return pvtestExec(spec, args[1:], c.stdin, c.stdout, c.stderr)
	}
	c.opts.name = filepath.Base(args[0])
	if code, done := c.parseOptions(args[1:]); done {
		return code
	}
	act, h := parseCommand(c.opts.args)
	if h != nil {
		printf.Fprint(c.stdout, h.text(c.opts.name))
		return h.code
	}
	if c.opts.socket == "" {
		c.opts.socket = c.findSocket()
	}
	if !isSocket(c.opts.socket) {
		printf.Fprintf(c.stdout, "ERROR: %s not found\n", c.opts.socket)
		return exitUsage
	}
	if c.opts.output != "" {
		f, err := os.OpenFile(c.opts.output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
		if err != nil {
			printf.Fprintf(c.stderr, "%s: %v\n", c.opts.name, err)
			return exitUsage
		}
		defer f.Close()
		c.stdout = f
	}
	return c.run(act)
}

// parseOptions reads the options before the command the way the upstream
// script does: -h, -v, -s X, -f X, -m X, stopping at the first other word.
func (c *ctl) parseOptions(args []string) (code int, done bool) {
	for len(args) > 0 {
		var dst *string
		switch args[0] {
		case "-h":
			printf.Fprint(c.stdout, usageText(c.opts.name))
			return exitOK, true
		case "-v":
			c.opts.verbose = true
		case "-s":
			dst = &c.opts.socket
		case "-f":
			dst = &c.opts.output
		case "-m":
			dst = &c.opts.message
		default:
			c.opts.args = args
			return 0, false
		}
		if dst != nil {
			if len(args) < 2 {
				printf.Fprint(c.stdout, usageText(c.opts.name))
				return exitUsage, true
			}
			*dst = args[1]
			args = args[1:]
		}
		args = args[1:]
	}
	c.opts.args = nil
	return 0, false
}

// findSocket returns the first candidate that is a socket, else the last.
func (c *ctl) findSocket() string {
	for _, s := range c.sockets[:len(c.sockets)-1] {
		if isSocket(s) {
			return s
		}
	}
	return c.sockets[len(c.sockets)-1]
}

// isSocket is the shell's test -S: path exists and is a socket.
func isSocket(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// exitCode maps a reply to upstream pvcontrol's exit code; body has its
// trailing newlines trimmed.
func exitCode(status int, body []byte) int {
	if status == 200 {
		return exitOK
	}
	if status == 503 {
		return exitBusy
	}
	switch string(body) {
	case `{"Error":"Not enough disk space available"}`:
		return exitNoSpace
	case `{"Error":"Object has bad checksum"}`:
		return exitChecksum
	case `{"Error":"State verification has failed"}`:
		return exitVerify
	}
	return exitHTTP
}

// replyError is a reply other than 200; run prints its body on stderr.
type replyError struct {
	status int
	body   []byte // trailing newlines trimmed
}

func (e *replyError) Error() string { return printf.Sprintf("HTTP %d: %s", e.status, e.body) }

// fail reports err and returns the exit code for it: a reply's body on
// stderr and its mapped code, or the error itself and 255 (no reply).
func (c *ctl) fail(err error) int {
	var re *replyError
	if errors.As(err, &re) {
		_, _ = c.stderr.Write(append(re.body, '\n'))
		return exitCode(re.status, re.body)
	}
	printf.Fprintf(c.stderr, "%s: %v\n", c.opts.name, err)
	return exitHTTP
}
