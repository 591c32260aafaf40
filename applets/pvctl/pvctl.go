// Package pvctl is the pv-ctl applet (also called pvcontrol): upstream
// pvcontrol's commands, output and exit codes over the pv-ctrl socket.
package pvctl

import (
	"fmt"
	"io"
)

// Main runs pv-ctl.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "pv-ctl: not implemented yet")
	return 1
}
