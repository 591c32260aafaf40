// Command linetab strips the tables only tracebacks read (positions,
// inlining, argument layouts) from the device binary and puts positions
// and inlined frames back into its tracebacks (package linetab).
//
//	linetab strip [-o OUT] BINARY      strip BINARY (in place without -o)
//	linetab symbolize DEBUG < TRACE    TRACE with file:line from DEBUG,
//	                                   the same build before strip
//
// Exit codes: 0 done, 1 failed, 2 usage.
package main

import (
	"flag"
	"fmt"
	"os"

	"pantavisor/linetab"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "strip":
		fs := flag.NewFlagSet("strip", flag.ExitOnError)
		out := fs.String("o", "", "write the stripped binary here instead of over BINARY")
		if err := fs.Parse(os.Args[2:]); err != nil || fs.NArg() != 1 {
			usage()
		}
		in := fs.Arg(0)
		if *out == "" {
			*out = in
		}
		st, err := linetab.StripFile(in, *out)
		if err != nil {
			fail(err)
		}
		fmt.Printf("linetab: %s: traceback tables of %d functions removed (bytes: %d of pc tables, %d of inlining trees, %d of argument layouts, %d of file names)\n",
			*out, st.Funcs, st.Tables, st.Inline, st.Args, st.FileTab)
	case "symbolize":
		if len(os.Args) != 3 {
			usage()
		}
		debug, err := os.ReadFile(os.Args[2])
		if err != nil {
			fail(err)
		}
		s, err := linetab.NewSymbolizer(debug)
		if err != nil {
			fail(fmt.Errorf("%s: %w", os.Args[2], err))
		}
		if _, err := s.Symbolize(os.Stdin, os.Stdout); err != nil {
			fail(err)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: linetab strip [-o OUT] BINARY\n       linetab symbolize DEBUG-BINARY < TRACEBACK")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "linetab:", err)
	os.Exit(1)
}
