package pantavisor

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"pantavisor/lib/pid1"
)

// TestPID1OnlyModes: the embedded init and its re-executed supervisor
// refuse to run as anything but PID 1 (a stray "init --supervise 5" on a
// host must not start reaping or halting it), with exit 1 and a reason.
func TestPID1OnlyModes(t *testing.T) {
	for _, args := range [][]string{{"init"}, {"init", pid1.SuperviseArg, "5"}} {
		var out, errs bytes.Buffer
		code := Main(args, nil, &out, &errs)
		assert.Equal(t, 1, code, "%q", args)
		assert.Contains(t, errs.String(), "not running as PID 1", "%q", args)
		assert.Empty(t, out.String(), "%q", args)
	}
}

// TestIsCommand: the words Main dispatches on before parsing options.
func TestIsCommand(t *testing.T) {
	for word, want := range map[string]bool{
		"validate": true, "install": true, pid1.MainLoopArg: true, pid1.SuperviseArg: true,
		"": false, "init": false, "--appengine": false, "validat": false, "pvtx": false,
	} {
		assert.Equal(t, want, IsCommand(word), "%q", word)
	}
}
