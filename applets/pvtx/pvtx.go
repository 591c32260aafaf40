// Package pvtx is the pvtx applet, upstream Pantavisor's transaction tool:
// build a state JSON from a base revision by adding packages and removing
// parts, then commit it to pv-ctrl as a local revision (remote
// transaction) or deploy it to a directory (local transaction, begun with
// an objects directory). The logic is lib/pvtx.
//
// Synopsis:
//
//	pvtx begin [BASE [OBJDIR]] | add FILE|- | remove PART | abort |
//	     commit [locals/NAME] | show | deploy DIR | help
//	pvtx queue new QUEUE OBJDIR | remove PART | unpack FILE|- |
//	     process [BASE [QUEUE OBJDIR]]
//
// A command is chosen as upstream does: the first name the argument
// starts with (begin, add, remove, abort, commit, show, deploy, help,
// --help, -h), and "queue" for any prefix of it ("q" works). Errors are
// printed as "ERROR: <command>: <message>" on stderr.
//
// Options: none. Environment: PVTXDIR, the transaction directory (default
// /var/cache/pvtx as root, $PREFIX/var/cache/pvtx as root with PREFIX set,
// else $HOME/.local/share/pvtx). pv-ctrl is the first of
// /run/pantavisor/pv/pv-ctrl, /pv/pv-ctrl and /pantavisor/pv-ctrl that
// exists. commit and deploy check the state's signatures (lib/pvs) before
// sending or writing it, when PV_SECUREBOOT_MODE or PVTX_TRUST_DIR is set
// or /etc/pantavisor/pvs/trust exists (upstream checks none): mode
// PV_SECUREBOOT_MODE (default lenient), trust stores in PVTX_TRUST_DIR
// (default /etc/pantavisor/pvs/trust) named by PV_SECUREBOOT_TRUSTSTORE
// and PV_SECUREBOOT_OEM_TRUSTSTORE, OEM signer PV_OEM_NAME. A refusal is
// "ERROR: <command>: Secureboot: <reason>: <detail>".
//
// Exit codes (upstream's): 0 success; 255 any other failure (upstream's
// -1), and no command; 1 empty command, add or queue remove/unpack without
// a transaction or queue, deploy without a directory, queue new without
// its arguments; 3 remove or queue process without a transaction; 4 remove
// without a part; 11 commit, show or deploy without a transaction; 12
// commit of a local transaction, queue new during a transaction; add that
// pv-ctrl refused: (-HTTP status) & 255 (422 gives 90, 507 gives 5). A
// commit or deploy refused for its signatures exits 255, as a commit
// pv-ctrl refuses (upstream's -1).
package pvtx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/pvs"
	"pantavisor/lib/pvtx"
)

// Exit codes of upstream pvtx.
const (
	exitOK      = 0
	exitFail    = 255 // upstream returns -1
	exitNoTxn1  = 1
	exitNoTxn3  = 3
	exitNoPart  = 4
	exitNoTxn11 = 11
	exitLocal   = 12
)

// app is one run of the applet, with its seams.
type app struct {
	name           string
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	getuid         func() int
	sockets        []string
	trustDir       string // trust stores when PVTX_TRUST_DIR is unset (pvs.TrustDir)
}

// command is one row of a command table.
type command struct {
	name string
	run  func(a *app, tx *pvtx.Txn, args []string) int
}

// commands and queueCommands are upstream's tables, in its order (a
// command is the first whose name the argument starts with).
var commands = [...]command{
	{"begin", (*app).begin},
	{"add", (*app).add},
	{"remove", (*app).remove},
	{"abort", (*app).abort},
	{"commit", (*app).commit},
	{"show", (*app).show},
	{"deploy", (*app).deploy},
	{"help", (*app).help},
	{"--help", (*app).help},
	{"-h", (*app).help},
}

var queueCommands = [...]command{
	{"new", (*app).queueNew},
	{"remove", (*app).queueRemove},
	{"unpack", (*app).queueUnpack},
	{"process", (*app).queueProcess},
}

// Main runs pvtx with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr,
		getenv: os.Getenv, getuid: os.Getuid, sockets: defaultSockets[:], trustDir: pvs.TrustDir}
	return a.main(args)
}

// main picks the command (see the package comment) and runs it.
func (a *app) main(args []string) int {
	a.name = "pvtx"
	if len(args) > 0 {
		a.name = filepath.Base(args[0])
	}
	if len(args) < 2 {
		a.usage(a.stdout)
		return exitFail
	}
	op, table, rest := args[1], commands[:], args[2:]
	if op == "" {
		a.usage(a.stdout)
		return exitNoTxn1
	}
	if strings.HasPrefix("queue", op) {
		if len(args) < 3 {
			return a.fail("command process", errors.New("missing queue sub command; please use 'help'"), exitFail)
		}
		op, table, rest = args[2], queueCommands[:], args[3:]
	}
	tx := &pvtx.Txn{Dir: a.dir(), Ctrl: &ctrl{sockets: a.sockets}}
	for _, c := range table {
		if strings.HasPrefix(op, c.name) {
			return c.run(a, tx, rest)
		}
	}
	return a.fail("command process", printf.Errorf("sub command not found: %s\nplease use 'help' to find the right sub command", op), exitFail)
}

// dir returns the transaction directory (see the package comment).
// Deviation: without HOME a non-root user gets /var/cache/pvtx (upstream
// first asks the password database; os/user is not linked here).
func (a *app) dir() string {
	if d := a.getenv("PVTXDIR"); d != "" {
		return d
	}
	const root = "/var/cache/pvtx"
	if a.getuid() == 0 {
		return a.getenv("PREFIX") + root
	}
	if home := a.getenv("HOME"); home != "" {
		return filepath.Join(home, ".local/share/pvtx")
	}
	return root
}

// fail prints err as upstream does and returns code.
func (a *app) fail(cmd string, err error, code int) int {
	printf.Fprintf(a.stderr, "ERROR: %s: %v\n", cmd, err)
	return code
}

// errCode is the exit code of a command failing with an error wrapping err.
type errCode struct {
	err  error
	code int
}

// check returns exitOK for a nil err, else prints it and returns the code
// of the first of codes whose error it wraps, or exitFail.
func (a *app) check(cmd string, err error, codes ...errCode) int {
	if err == nil {
		return exitOK
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return a.fail(cmd, err, c.code)
		}
	}
	return a.fail(cmd, err, exitFail)
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func (a *app) begin(tx *pvtx.Txn, args []string) int {
	return a.check("begin", tx.Begin(arg(args, 0), arg(args, 1)))
}

func (a *app) add(tx *pvtx.Txn, args []string) int {
	if len(args) < 1 {
		return a.fail("add", errors.New("missing argument, file or - is needed"), exitFail)
	}
	var err error
	if strings.HasPrefix(args[0], "-") { // upstream: any argument starting with '-'
		err = tx.AddFrom(a.stdin)
	} else {
		err = tx.Add(args[0])
	}
	var he *pvtx.HTTPError
	if errors.As(err, &he) {
		return a.fail("add", err, -he.Status&0xff)
	}
	return a.check("add", err, errCode{pvtx.ErrNoTransaction, exitNoTxn1})
}

func (a *app) remove(tx *pvtx.Txn, args []string) int {
	if len(args) < 1 {
		return a.fail("remove", errors.New("must supply a part name"), exitNoPart)
	}
	return a.check("remove", tx.Remove(args[0]), errCode{pvtx.ErrNoTransaction, exitNoTxn3})
}

func (a *app) abort(tx *pvtx.Txn, _ []string) int {
	return a.check("abort", tx.Abort())
}

func (a *app) commit(tx *pvtx.Txn, args []string) int {
	if err := a.setSecureboot("commit", tx); err != nil {
		return a.fail("commit", err, exitFail)
	}
	rev, err := tx.Commit(arg(args, 0))
	if err == nil {
		printf.Fprintln(a.stdout, rev)
	}
	return a.check("commit", err, errCode{pvtx.ErrNoTransaction, exitNoTxn11}, errCode{pvtx.ErrLocal, exitLocal})
}

func (a *app) show(tx *pvtx.Txn, _ []string) int {
	js, err := tx.Show()
	if err == nil {
		printf.Fprintf(a.stdout, "%s\n", js)
	}
	return a.check("show", err, errCode{pvtx.ErrNoTransaction, exitNoTxn11})
}

func (a *app) deploy(tx *pvtx.Txn, args []string) int {
	if len(args) < 1 {
		return a.fail("deploy", errors.New("missing deploy folder"), exitNoTxn1)
	}
	if err := a.setSecureboot("deploy", tx); err != nil {
		return a.fail("deploy", err, exitFail)
	}
	return a.check("deploy", tx.Deploy(args[0]), errCode{pvtx.ErrNoTransaction, exitNoTxn11})
}

func (a *app) help(_ *pvtx.Txn, _ []string) int {
	a.usage(a.stdout)
	return exitOK
}

func (a *app) queueNew(tx *pvtx.Txn, args []string) int {
	switch len(args) {
	case 0:
		return a.fail("queue new", errors.New("queue argument is required"), exitNoTxn1)
	case 1:
		return a.fail("queue new", errors.New("objects argument is required"), exitNoTxn1)
	}
	return a.check("queue new", tx.QueueNew(args[0], args[1]), errCode{pvtx.ErrActive, exitLocal})
}

func (a *app) queueRemove(tx *pvtx.Txn, args []string) int {
	if len(args) < 1 {
		return a.fail("queue remove", errors.New("missing argument 'part'"), exitNoTxn1)
	}
	return a.check("queue remove", tx.QueueRemove(args[0]), errCode{pvtx.ErrNoQueue, exitNoTxn1})
}

func (a *app) queueUnpack(tx *pvtx.Txn, args []string) int {
	if len(args) < 1 {
		return a.fail("queue unpack", errors.New("missing argument, file or - is required"), exitNoTxn1)
	}
	var err error
	if strings.HasPrefix(args[0], "-") {
		err = tx.QueueUnpackFrom(a.stdin, "")
	} else {
		err = tx.QueueUnpack(args[0])
	}
	return a.check("queue unpack", err, errCode{pvtx.ErrNoQueue, exitNoTxn1})
}

func (a *app) queueProcess(tx *pvtx.Txn, args []string) int {
	err := tx.QueueProcess(arg(args, 0), arg(args, 1), arg(args, 2))
	codes := []errCode{{pvtx.ErrNoTransaction, exitNoTxn3}}
	if len(args) > 1 { // queue new comes first: 12 as in "queue new"
		codes = append(codes, errCode{pvtx.ErrActive, exitLocal})
	}
	return a.check("queue process", err, codes...)
}
