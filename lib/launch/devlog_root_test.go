package launch

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/logs"
)

// TestDevLogLogger: busybox logger in a container writes through its
// /dev/log to the log server, which files the line under the container's
// name (the sender's cgroup, as the device's log server identifies it).
func TestDevLogLogger(t *testing.T) {
	f := newFixture(t)
	m := cgroup.Manager{Parent: f.parent}
	srv := &logs.Server{RunDir: filepath.Join(f.dir, "run"), StorageLogs: filepath.Join(f.dir, "logs"), Rev: "0",
		DevLog: filepath.Join(f.dir, "devlog"), DirMaxSize: 16 << 20,
		Identify: func(pid int) string {
			name, err := m.NameOf(pid)
			if err != nil {
				return logs.UnknownPlatform
			}
			return name
		}}
	require.NoError(t, srv.Start())
	t.Cleanup(func() { srv.Close() })
	f.opts.Host.DevLog, f.opts.Host.DevLogSocket = true, srv.DevLog

	// logger stays alive until its input ends: the log server names the
	// sender from its pid's cgroup when it accepts the connection, and a
	// one-shot "logger MSG" may be gone (reaped) by then, filed under
	// logs.UnknownPlatform (a race of the log server, see the report).
	install(t, f, "0", `ls -l /dev/log; (echo hello-from-c1; sleep 1) | /bin/busybox logger -t myapp && echo logged`, `,"roles":[]`)
	code, out := f.run(t, "0")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^s.*/dev/log`, out, "/dev/log is the log server's socket")
	require.Contains(t, out, "logged", out)

	file := filepath.Join(f.dir, "logs", "0", "c1", "myapp")
	var got []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, _ = os.ReadFile(file); len(got) > 0 {
			break
		}
	}
	assert.Equal(t, "hello-from-c1\n", string(got), "the line is filed under the container's name and the logger tag")
}
