package device

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/container"
	"pantavisor/lib/engine"
	"pantavisor/lib/testenv"
)

// idleStages lists this process's children that are container stages
// not started yet (a started one has exec'd its container's init).
func idleStages() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		if !bytes.Contains(status, []byte("\nPPid:\t"+me+"\n")) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if args := bytes.Split(cmdline, []byte{0}); len(args) > 1 && string(args[1]) == container.StageArg {
			out = append(out, pid)
		}
	}
	return out
}

// TestBlockedContainerPreparedAndClosed: while a container waits for an
// earlier group (here one that never signals READY), the device holds
// its stage spawned ahead, idle; when the revision stops the stage is
// ended, and nothing is left.
func TestBlockedContainerPreparedAndClosed(t *testing.T) {
	f := newRootFixture(t)
	require.Empty(t, idleStages(), "no stage before the test")
	objects, runs := map[string][]byte{}, map[string]string{}
	for name, extra := range map[string]string{"first": `,"group":"platform","status_goal":"READY"`, "later": `,"group":"app"`} {
		objects[name+"/lxc.container.conf"] = []byte(strings.ReplaceAll(chattyConf, "chatty", name))
		objects[name+"/root.squashfs"] = f.img
		objects["_config/"+name+"/app/script"] = []byte("sleep 100\n")
		runs[name+"/run.json"] = `{"name":"` + name + `","type":"lxc","config":"lxc.container.conf",` +
			`"root-volume":"root.squashfs","storage":{"lxc-overlay":{"persistence":"boot"}}` + extra + `}`
	}
	testenv.InstallRevision(t, f.st, "0", objects, runs)
	o := f.options(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		out engine.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := New(o, nil)
		if err != nil {
			done <- result{err: err}
			return
		}
		out, err := d.Run(ctx)
		done <- result{out, err}
	}()
	require.Eventually(t, func() bool { return len(idleStages()) == 1 }, 10*time.Second, 10*time.Millisecond,
		"later's stage waits, spawned ahead, while first has not signalled READY")
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, idleStages(), 1, "one stage: first started at once, unprepared")
	cancel()
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, engine.Exit, res.out.Action, res.out.Reason)
	assert.Empty(t, idleStages(), "the stage not taken is ended with the revision")
	assert.Equal(t, testenv.Resources{}, testenv.TakeResources(t, f.dir, f.parent), "nothing leaked")
}
