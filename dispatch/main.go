// Command pantavisor is the device binary: one static executable that is
// every applet of a Pantavisor device. It picks the applet from the name it
// was started under (busybox-style) or from its first argument.
package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"pantavisor/applets/insmod"
	"pantavisor/applets/modprobe"
	"pantavisor/applets/pantavisor"
	"pantavisor/applets/pvcontainer"
	"pantavisor/applets/pvctl"
	"pantavisor/applets/pventer"
	"pantavisor/applets/pvlogger"
	"pantavisor/applets/pvtx"
	"pantavisor/lib/printf"
)

// mainFunc is the entry point every applet exports.
type mainFunc func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// applet is one row of the dispatch table.
type applet struct {
	name    string
	summary string
	main    mainFunc // nil: not implemented yet
}

// applets is the static dispatch table, sorted by name. An applet whose issue
// has not landed has a nil main and says so instead of pretending.
var applets = [...]applet{
	{"init", "PID 1 of the device (same as pantavisor)", pantavisor.Main},
	{"insmod", "load one kernel module file", insmod.Main},
	{"modprobe", "load a kernel module and its dependencies", modprobe.Main},
	{"pantavisor", "the Pantavisor daemon (PID 1 or appengine)", pantavisor.Main},
	{"pv-container", "run one container in the foreground", pvcontainer.Main},
	{"pv-ctl", "talk to the pv-ctrl socket (pvcontrol compatible)", pvctl.Main},
	{"pvcontrol", "alias of pv-ctl", pvctl.Main},
	{"pventer", "run a command inside a container's namespaces", pventer.Main},
	{"pvlogger", "send messages to the log server (like logger)", pvlogger.Main},
	{"pvtx", "build a state transaction and commit it", pvtx.Main},
}

const (
	exitUnknown        = 127 // no such applet, as a shell says for a missing command
	exitNotImplemented = 1
	exitUsage          = 2
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches args to an applet and returns its exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"pantavisor"}
	}
	name := filepath.Base(args[0])
	a := find(name)
	// The multi-call form "pantavisor APPLET ARGS", also accepted under any
	// name that is not an applet (a renamed binary such as pantavisor-arm64).
	if (a == nil || name == "pantavisor") && len(args) > 1 {
		switch args[1] {
		case "--list":
			list(stdout)
			return 0
		case "--install":
			return install(args, stderr)
		case "--help", "-h":
			usage(stdout)
			return 0
		}
		if b := find(args[1]); b != nil {
			return call(b, args[1:], stdin, stdout, stderr)
		}
		if name == "pantavisor" && notAWord(args[1], os.Getpid()) {
			printf.Fprintf(stderr, "%s: %s is not an applet nor an option\n", name, args[1])
			usage(stderr)
			return exitUsage
		}
	}
	if a == nil {
		printf.Fprintf(stderr, "%s: applet not found\n", name)
		usage(stderr)
		return exitUnknown
	}
	return call(a, args, stdin, stdout, stderr)
}

// notAWord reports whether word, after "pantavisor" in process pid, is
// neither an option nor a command of the pantavisor applet, so the user
// mistyped an applet. PID 1 is exempt: the kernel passes init the words of its command line
// it does not know, and PID 1 must never exit.
func notAWord(word string, pid int) bool {
	return !strings.HasPrefix(word, "-") && !pantavisor.IsCommand(word) && pid != 1
}

func call(a *applet, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if a.main != nil {
		return a.main(args, stdin, stdout, stderr)
	}
	if len(args) > 1 && (args[1] == "--help" || args[1] == "-h") {
		printf.Fprintf(stdout, "Usage: %s ...\n\n%s.\nNot implemented yet in this build.\n", a.name, a.summary)
		return 0
	}
	printf.Fprintf(stderr, "%s: not implemented\n", a.name)
	return exitNotImplemented
}

func find(name string) *applet {
	for i := range applets {
		if applets[i].name == name {
			return &applets[i]
		}
	}
	return nil
}

func list(w io.Writer) {
	for _, a := range applets {
		printf.Fprintln(w, a.name)
	}
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Usage: pantavisor APPLET [ARGS...] | pantavisor --list | pantavisor --install DIR\n\nApplets:\n")
	for _, a := range applets {
		printf.Fprintf(&b, "  %-13s %s\n", a.name, a.summary)
	}
	_, _ = io.WriteString(w, b.String())
}

// install creates DIR/<applet> symlinks pointing at the running binary.
func install(args []string, stderr io.Writer) int {
	if len(args) != 3 {
		printf.Fprintln(stderr, "usage: pantavisor --install DIR")
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		printf.Fprintf(stderr, "pantavisor: --install: %v\n", err)
		return 1
	}
	dir := args[2]
	code := 0
	for _, a := range applets {
		link := filepath.Join(dir, a.name)
		if link == self {
			continue
		}
		// Replace our own (or any) symlink, never a real file: a board
		// may ship busybox or kmod binaries under the same names.
		if fi, err := os.Lstat(link); err == nil {
			if fi.Mode()&os.ModeSymlink == 0 {
				printf.Fprintf(stderr, "pantavisor: --install: %s exists and is not a symlink, left alone\n", link)
				code = 1
				continue
			}
			os.Remove(link)
		}
		if err := os.Symlink(self, link); err != nil {
			printf.Fprintf(stderr, "pantavisor: --install: %v\n", err)
			return 1
		}
	}
	return code
}
