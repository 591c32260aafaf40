package pantavisor

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"

	"pantavisor/lib/state"
)

func TestLXCWarnings(t *testing.T) {
	blobs := map[string]string{
		"main": "lxc.rootfs.path = /x\nlxc.include = inc.conf\nlxc.utsname = old\nlxc.hook.start = /h\nlxc.include = /usr/share/lxc/common.conf\n",
		"inc":  "# included\nlxc.signal.reboot = SIGINT\nlxc.prlimit.nofile = 10\n",
		"bad":  "lxc.rootfs.path = /x\nno equals here\n",
		"good": "lxc.rootfs.path = /x\n",
	}
	st := &state.State{
		Containers: []*state.Container{
			{Name: "a", Dir: "a", Config: "lxc.container.conf"},
			{Name: "data", Dir: "data"}, // data-only: no config
			{Name: "gone", Dir: "gone", Config: "lxc.container.conf"},
			{Name: "b", Dir: "b", Config: "lxc.container.conf"},
			{Name: "c", Dir: "c", Config: "lxc.container.conf"},
		},
		Objects: []state.Object{{Name: "a/lxc.container.conf", SHA: "main"}, {Name: "a/inc.conf", SHA: "inc"},
			{Name: "gone/lxc.container.conf", SHA: "missing"}, {Name: "b/lxc.container.conf", SHA: "bad"},
			{Name: "c/lxc.container.conf", SHA: "good"}},
	}
	read := func(o state.Object) ([]byte, error) {
		b, ok := blobs[o.SHA]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(b), nil
	}
	got, cfgs := lxcWarnings(st, read)
	assert.Equal(t, []string{
		"a/inc.conf:2: lxc.signal.reboot: not applied by the launcher: a reboot of the init is not turned into a restart",
		"a/inc.conf:3: lxc.prlimit.nofile: LXC key kept raw, not applied here",
		"a/lxc.container.conf:3: lxc.utsname: legacy key: use lxc.uts.name",
		"a/lxc.container.conf:4: lxc.hook.start: not applied by the launcher: hooks are not run",
		"a/lxc.container.conf:5: lxc.include: including: open /usr/share/lxc/common.conf: file does not exist",
		"b/lxc.container.conf:2: no equals here: want key = value",
	}, got, "includes resolve to the state's objects, never to the host; a missing object is skipped")
	assert.Len(t, cfgs, 1, "only c's config parses")
	assert.Equal(t, "/x", cfgs["c"].Rootfs.Path)
}
