package logs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want Level
		ok   bool
	}{
		{"FATAL", Fatal, true}, {"error", Error, true}, {"Warn", Warn, true}, {"INFO", Info, true},
		{"debug", Debug, true}, {"TRACE", Trace, true}, {"0", Fatal, true}, {"5", Trace, true},
		{"6", 0, false}, {"ALL", 0, false}, {"WARNING", 0, false}, {"", 0, false}, {"-1", 0, false},
	}
	for _, tt := range tests {
		l, err := ParseLevel(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrBadLevel, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, l, tt.in)
	}
}

func TestLevelString(t *testing.T) {
	names := []string{"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"}
	for i, n := range names {
		assert.Equal(t, n, Level(i).String())
	}
	assert.Equal(t, "LEVEL(6)", Level(6).String())
	assert.Equal(t, "LEVEL(-1)", Level(-1).String())
}

func TestSyslogLevel(t *testing.T) {
	want := []Level{Fatal, Fatal, Error, Error, Warn, Info, Info, Debug}
	for sev, l := range want {
		assert.Equal(t, l, SyslogLevel(sev), "severity %d", sev)
		assert.Equal(t, l, SyslogLevel(16*8+sev), "local0 severity %d", sev)
	}
}

func TestParseOutputs(t *testing.T) {
	tests := []struct {
		in   string
		want Outputs
		ok   bool
	}{
		{"", Filetree, true},
		{"filetree", Filetree, true},
		{"singlefile", Singlefile, true},
		{"stdout", Stdout, true},
		{"stdout.pantavisor", StdoutPantavisor, true},
		{"stdout_pantavisor", StdoutPantavisor, true},
		{"stdout.containers", StdoutContainers, true},
		{"stdout_containers", StdoutContainers, true},
		{"stdout_direct", StdoutDirect, true},
		{"nullsink", Nullsink, true},
		{"filetree,singlefile, STDOUT", Filetree | Singlefile | Stdout, true},
		{"filetree,bogus", 0, false},
	}
	for _, tt := range tests {
		o, err := ParseOutputs(tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, ErrBadOutput, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, o, tt.in)
	}
	assert.True(t, StdoutPantavisor.stdoutFor(Pantavisor))
	assert.False(t, StdoutPantavisor.stdoutFor("app"))
	assert.True(t, StdoutContainers.stdoutFor("app"))
	assert.False(t, StdoutContainers.stdoutFor(Pantavisor))
	assert.True(t, Stdout.stdoutFor("app") && Stdout.stdoutFor(Pantavisor))
	assert.False(t, Filetree.stdoutFor("app"))
}
