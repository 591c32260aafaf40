package pantavisor

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"pantavisor/lib/cgroup"
)

// TestCtrlFairness: once app runs, a process in the cgroup of the non-mgmt container app
// holds 300 idle connections to pv-ctrl (more than the 256 of the whole
// socket); pv-ctl ls from the host and from the mgmt container is still
// answered, each within a deadline.
func TestCtrlFairness(t *testing.T) {
	d := startCtrlDevice(t)
	_, stderr, code := d.inside(t, "mgmt", "pv-ctl signal ready")
	require.Equal(t, 0, code, stderr)
	require.Eventually(t, func() bool {
		out, _, _ := d.pvctl(t, "ls")
		return strings.Contains(out, `"name":"app","group":"app","status":"STARTED"`)
	}, 30*time.Second, 100*time.Millisecond, "mgmt READY unblocks app")
	holdConns(t, d, "app", 300)
	for _, where := range []string{"host", "mgmt"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		args := []string{"pv-ctl", "-s", d.sock, "ls"}
		if where == "mgmt" {
			args = []string{"pventer", "--cgroup-parent", d.parent, "-c", "mgmt", "pv-ctl ls"}
		}
		cmd := exec.CommandContext(ctx, d.bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		expired := ctx.Err() == context.DeadlineExceeded
		cancel()
		require.False(t, expired, "pv-ctl ls from %s answered within 5 s", where)
		require.NoError(t, err, "pv-ctl ls from %s: %s", where, stderr.String())
		assert.Contains(t, string(out), `"name":"app"`, where)
	}
}

// holdConns runs this test binary as a helper (TestHelperHoldConns) placed
// in container c's cgroups, which opens n connections to the device's
// pv-ctrl and keeps them idle until the test ends.
func holdConns(t *testing.T, d *ctrlDevice, c string, n int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldConns$")
	cmd.Env = append(os.Environ(), "PVTEST_HOLD_SOCKET="+d.sock, "PVTEST_HOLD_N="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { // before the appengine stops: c's cgroup must empty
		stdin.Close()
		cmd.Wait()
	})
	g, err := (&cgroup.Manager{Parent: d.parent}).Group(c)
	require.NoError(t, err)
	require.NoError(t, g.Add(cmd.Process.Pid))
	_, err = io.WriteString(stdin, "go\n")
	require.NoError(t, err)
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		said <- line
	}()
	select {
	case line := <-said:
		require.Equal(t, "held\n", line, "the helper connected")
	case <-time.After(30 * time.Second):
		t.Fatal("the helper did not connect within 30 s")
	}
}

// TestHelperHoldConns is not a test: run by holdConns, it waits for a
// line on stdin (it is in the container's cgroup by then), opens
// PVTEST_HOLD_N connections to PVTEST_HOLD_SOCKET, says "held" and keeps
// them until stdin ends.
func TestHelperHoldConns(t *testing.T) {
	sock := os.Getenv("PVTEST_HOLD_SOCKET")
	if sock == "" {
		t.Skip("the helper process of TestCtrlFairness")
	}
	n, err := strconv.Atoi(os.Getenv("PVTEST_HOLD_N"))
	require.NoError(t, err)
	in := bufio.NewReader(os.Stdin)
	_, err = in.ReadString('\n')
	require.NoError(t, err)
	for range n {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		require.NoError(t, err)
		require.NoError(t, unix.Connect(fd, &unix.SockaddrUnix{Name: sock}))
	}
	os.Stdout.WriteString("held\n")
	io.Copy(io.Discard, in)
}
