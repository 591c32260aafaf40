package pvlogger

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/logs"
)

func startServer(t *testing.T) *logs.Server {
	t.Helper()
	dir := t.TempDir()
	s := &logs.Server{
		RunDir:      filepath.Join(dir, "run"),
		StorageLogs: filepath.Join(dir, "logs"),
		Rev:         "0",
		DirMaxSize:  1 << 20,
		Identify:    func(int) string { return "app" },
	}
	require.NoError(t, s.Start())
	t.Cleanup(func() { s.Close() })
	return s
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var got []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got, _ = os.ReadFile(path); string(got) == want {
			return
		}
	}
	require.Equal(t, want, string(got), path)
}

func runMain(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(append([]string{"pvlogger"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestMessageArgs(t *testing.T) {
	s := startServer(t)
	code, _, stderr := runMain("", "-p", s.RunDir, "-s", "lxc/app.log", "-l", "warn", "hello", "world")
	require.Equal(t, 0, code, stderr)
	waitFile(t, filepath.Join(s.StorageLogs, "0/app/lxc/app.log"), "hello world\n")

	code, _, stderr = runMain("", "-p", s.CtrlSocket(), "default", "source")
	require.Equal(t, 0, code, stderr)
	waitFile(t, filepath.Join(s.StorageLogs, "0/app/pvlogger"), "default source\n")
}

func TestStdinLines(t *testing.T) {
	s := startServer(t)
	code, _, stderr := runMain("first\n\nsecond \"quoted\"\r\nlast without newline", "-p", s.RunDir, "-s", "in", "-l", "3")
	require.Equal(t, 0, code, stderr)
	waitFile(t, filepath.Join(s.StorageLogs, "0/app/in"), "first\nsecond \"quoted\"\nlast without newline\n")
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no server", []string{"-p", filepath.Join(dir, "nope"), "x"}, 1, "cannot reach the log server: connect " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"dead socket", []string{"-p", dir, "x"}, 1, "connection refused"},
		{"bad level", []string{"-l", "LOUD", "x"}, 2, "bad level LOUD"},
		{"empty source", []string{"-s", "", "x"}, 2, "empty source"},
		{"unknown flag", []string{"-q"}, 2, "usage: pvlogger"},
	}
	// a socket file nobody listens on
	require.NoError(t, os.WriteFile(filepath.Join(dir, logs.CtrlSocketName), nil, 0o644))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runMain("", tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr, tt.stderr)
		})
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runMain("", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Usage: pvlogger [-s SRC]")
	assert.Contains(t, stdout, "-l")
}
