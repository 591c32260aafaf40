// Package pventer is the pventer applet: run a command inside a running
// container's namespaces and cgroups.
package pventer

import (
	"fmt"
	"io"
)

// Main runs pventer.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pventer: not implemented yet")
	return 1
}
