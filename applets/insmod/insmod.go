// Package insmod is the insmod applet: load one kernel module file.
//
// Synopsis:
//
//	insmod FILE [PARAM=VALUE...]
//
// Exit codes: 0 loaded (or already loaded), 1 the kernel refused or the file
// cannot be read, 2 usage error.
package insmod

import (
	"io"
	"strings"

	"pantavisor/lib/kmod"
	"pantavisor/lib/printf"
)

// Main runs the applet with args (args[0] is the name it was called by).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 1 && (args[1] == "--help" || args[1] == "-h") {
		printf.Fprintf(stdout, "Usage: %s FILE [PARAM=VALUE...]\n\nLoad one kernel module file with finit_module(2).\n", args[0])
		return 0
	}
	if len(args) < 2 {
		printf.Fprintf(stderr, "usage: %s FILE [PARAM=VALUE...]\n", args[0])
		return 2
	}
	if err := kmod.LoadFile(args[1], strings.Join(args[2:], " ")); err != nil {
		printf.Fprintf(stderr, "%s: %v\n", args[0], err)
		return 1
	}
	return 0
}
