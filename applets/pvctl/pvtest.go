package pvctl

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"

	"pantavisor/lib/printf"
)

// pvtestExec runs "$PVTEST_EXEC pvcontrol ARGS..." as upstream's
// `exec $PVTEST_EXEC pvcontrol "$@"`: spec is split on white space (no
// shell quoting) and the command gets our streams and the environment
// without PVTEST_EXEC, so a local wrapper cannot loop. It returns the
// command's exit code, 127 when it cannot be started.
func pvtestExec(spec string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	argv := append(strings.Fields(spec), "pvcontrol")
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PVTEST_EXEC=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	}
	printf.Fprintf(stderr, "pvcontrol: PVTEST_EXEC: %v\n", err)
	return 127
}
