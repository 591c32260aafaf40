package pvctl

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// result is what one run of the applet printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// run runs pv-ctl with args, stdin and a fixed clock, and no PVTEST_EXEC.
func run(t *testing.T, stdin string, tty bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &ctl{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, tty: tty,
		sockets: []string{"/nonexistent/a", "/nonexistent/b"},
		getenv:  func(string) string { return "" },
		now:     time.Now,
	}
	code := c.main(append([]string{"pv-ctl"}, args...))
	return result{code, out.String(), errb.String()}
}
