// Package buildflags holds the one list of `go build` arguments the device
// binary is built with, so the size gate measures exactly what ships. The
// Makefile reads flags.txt itself; Go build tools call Args.
package buildflags

import (
	_ "embed"
	"strings"
)

//go:embed flags.txt
var flags string

// Args returns the build arguments of flags.txt in order (blank lines and
// # comments dropped). Callers add -ldflags, -tags and -o.
func Args() []string {
	var out []string
	for _, line := range strings.Split(flags, "\n") {
		line, _, _ = strings.Cut(line, "#")
		out = append(out, strings.Fields(line)...)
	}
	return out
}
