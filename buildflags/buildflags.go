// Package buildflags holds how the device binary is built: the one list of
// `go build` arguments and the strip of its line tables, so the size gate
// and the tests measure exactly what ships. The Makefile reads flags.txt
// itself; Go build tools call Build.
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
