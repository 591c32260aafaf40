// Package modprobe is the modprobe applet: load a kernel module after the
// modules it depends on, as listed in /lib/modules/<release>/modules.dep.
//
// Synopsis:
//
//	modprobe [-q] [-d DIR] [--] MODULE|ALIAS [PARAM=VALUE...]
//
// Options:
//
//	-d DIR  modules directory (default /lib/modules/<uname -r>)
//	-q      quiet: no message when the module is unknown or refused
//
// A name no module has is looked up in modules.alias. The kernel runs
// "/sbin/modprobe -q -- ALIAS" when it needs a module (a bridge link,
// an nftables expression), so this applet is its module loader too.
//
// Exit codes: 0 loaded (or already loaded), 1 unknown module or the kernel
// refused, 2 usage error.
package modprobe

import (
	"io"
	"strings"

	"pantavisor/lib/cli"
	"pantavisor/lib/kmod"
	"pantavisor/lib/printf"
)

// Main runs the applet with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlags(args[0], "Usage: "+args[0]+" [-q] [-d DIR] [--] MODULE|ALIAS [PARAM=VALUE...]\n\nLoad a kernel module and its dependencies.\n", stdout, stderr)
	dir := fs.String("d", "", "modules directory (default /lib/modules/<uname -r>)")
	quiet := fs.Bool("q", false, "quiet: no message when the module is unknown or refused")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	if fs.NArg() < 1 {
		return fs.UsageError("")
	}
	l := kmod.Loader{Dir: *dir}
	if err := l.Probe(fs.Arg(0), strings.Join(fs.Args()[1:], " ")); err != nil {
		if !*quiet {
			printf.Fprintf(stderr, "%s: %v\n", args[0], err)
		}
		return 1
	}
	return 0
}
