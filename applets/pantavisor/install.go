package pantavisor

import (
	"errors"
	"io"
	"os"

	"pantavisor/lib/cli"
	"pantavisor/lib/printf"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

const installUsage = `Usage: pantavisor install --storage DIR [--rev N] PKG.tgz|PKG.tar|DIR

Install a pvr package (or unpacked package, or trail) as a revision of a storage.
`

type installOptions struct {
	storage, rev, src string
}

// installMain is "pantavisor install --storage DIR [--rev N] PKG|DIR": add
// a revision to a storage directory (the board image builder makes the
// factory revision 0 with it), then check its integrity. Exit codes: 0
// installed, 1 refused (the storage is left as it was), 2 usage.
func installMain(args []string, stdout, stderr io.Writer) int {
	var opts installOptions
	fs := cli.NewFlags("pantavisor install", installUsage, stdout, stderr)
	fs.StringVar(&opts.storage, "storage", "", "storage directory (created if missing)")
	fs.StringVar(&opts.rev, "rev", "0", "revision: a number or locals/<name>")
	if code, done := fs.Parse(args[1:]); done {
		return code
	}
	if opts.storage == "" || fs.NArg() != 1 {
		return fs.UsageError("")
	}
	opts.src = fs.Arg(0)
	if err := runInstall(opts, stdout); err != nil {
		var se *state.Error
		if errors.As(err, &se) {
			printf.Fprintf(stderr, "ERROR: %s: %s\n", se.Key, se.Reason)
		} else {
			printf.Fprintf(stderr, "ERROR: %v\n", err)
		}
		return 1
	}
	return 0
}

func runInstall(opts installOptions, stdout io.Writer) error {
	s, err := storage.Open(opts.storage, storage.Options{})
	if err != nil {
		return err
	}
	fi, err := os.Stat(opts.src)
	if err != nil {
		return err
	}
	var st *state.State
	if fi.IsDir() {
		st, err = s.InstallDir(opts.rev, opts.src)
	} else {
		var f *os.File
		if f, err = os.Open(opts.src); err != nil {
			return err
		}
		st, err = s.InstallPackage(opts.rev, f)
		f.Close()
	}
	if err != nil {
		return err
	}
	rep, err := s.VerifyState(opts.rev, st)
	if err != nil {
		return err
	}
	printf.Fprintf(stdout, "installed revision %s: %d containers, %d objects (%d hashed, %d left to dm-verity or the bootloader)\n",
		opts.rev, len(st.Containers), rep.Objects, rep.Hashed, rep.Skipped)
	return nil
}
