package logs

import (
	"errors"
	"strings"
)

// Outputs is a set of log server outputs (PV_LOG_SERVER_OUTPUTS).
type Outputs uint8

// The outputs. StdoutDirect is accepted but is not the server's job: it
// means pantavisor writes its own messages to the console itself.
const (
	Filetree         Outputs = 1 << iota // logs/<rev>/<platform>/<source>
	Singlefile                           // logs/<rev>/pv.log, JSON lines
	Stdout                               // every message on Server.Stdout
	StdoutPantavisor                     // pantavisor's messages on Server.Stdout
	StdoutContainers                     // containers' messages on Server.Stdout
	StdoutDirect                         // pantavisor prints its own (no-op here)
	Nullsink                             // discard
)

// ErrBadOutput is returned by ParseOutputs for an unknown output name.
var ErrBadOutput = errors.New("unknown log server output")

var outputNames = [...]struct {
	name string
	out  Outputs
}{
	{"filetree", Filetree},
	{"singlefile", Singlefile},
	{"stdout", Stdout},
	{"stdout.pantavisor", StdoutPantavisor},
	{"stdout_pantavisor", StdoutPantavisor},
	{"stdout.containers", StdoutContainers},
	{"stdout_containers", StdoutContainers},
	{"stdout_direct", StdoutDirect},
	{"stdout.direct", StdoutDirect},
	{"nullsink", Nullsink},
}

// ParseOutputs reads a comma- or space-separated list of output names
// (case-insensitive; "stdout.pantavisor" and upstream's internal spelling
// "stdout_pantavisor" are the same). An empty list is Filetree, the default.
func ParseOutputs(s string) (Outputs, error) {
	var o Outputs
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		found := false
		for _, n := range outputNames {
			if equalFold(w, n.name) {
				o |= n.out
				found = true
			}
		}
		if !found {
			return 0, badf(ErrBadOutput, "%q", w)
		}
	}
	if o == 0 {
		o = Filetree
	}
	return o, nil
}

// Has reports whether every output of x is in o.
func (o Outputs) Has(x Outputs) bool { return o&x == x }

// stdoutFor reports whether a message of platform goes to stdout.
func (o Outputs) stdoutFor(platform string) bool {
	if o&Stdout != 0 {
		return true
	}
	if platform == Pantavisor {
		return o&StdoutPantavisor != 0
	}
	return o&StdoutContainers != 0
}
