// Package cli holds the flag conventions every applet shares: errors on
// stderr, usage on stdout for -h/--help (exit 0), exit 2 on a usage error.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes shared by the applets.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// Flags is a flag.FlagSet with the applet conventions. Header is the help
// text printed before the options; its first line is the usage line.
type Flags struct {
	*flag.FlagSet
	header string
	stdout io.Writer
}

// NewFlags returns Flags named name whose errors go to stderr.
func NewFlags(name, header string, stdout, stderr io.Writer) *Flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // Parse prints usage where it belongs
	return &Flags{FlagSet: fs, header: header, stdout: stdout}
}

// Parse parses args (without the program name). When done is true the
// applet returns code: ExitOK after -h/--help (help printed on stdout),
// ExitUsage on a bad flag (error and usage line printed on stderr).
func (f *Flags) Parse(args []string) (code int, done bool) {
	err := f.FlagSet.Parse(args)
	switch {
	case err == nil:
		return ExitOK, false
	case errors.Is(err, flag.ErrHelp):
		f.PrintHelp()
		return ExitOK, true
	}
	f.UsageError("")
	return ExitUsage, true
}

// PrintHelp writes the header and, when there are flags, the options.
func (f *Flags) PrintHelp() {
	fmt.Fprint(f.stdout, f.header)
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		out := f.Output()
		fmt.Fprint(f.stdout, "\nOptions:\n")
		f.SetOutput(f.stdout)
		f.PrintDefaults()
		f.SetOutput(out)
	}
}

// UsageError prints msg (if any) and the usage line on stderr and returns
// ExitUsage, for arguments the flags cannot check.
func (f *Flags) UsageError(msg string) int {
	if msg != "" {
		fmt.Fprintf(f.Output(), "%s: %s\n", f.Name(), msg)
	}
	line, _, _ := strings.Cut(f.header, "\n")
	fmt.Fprintln(f.Output(), strings.Replace(line, "Usage:", "usage:", 1))
	return ExitUsage
}
