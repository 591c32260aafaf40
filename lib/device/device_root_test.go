package device

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/container"
	"pantavisor/lib/engine"
	"pantavisor/lib/launch"
	"pantavisor/lib/logs"
	"pantavisor/lib/storage"
	"pantavisor/lib/testenv"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == container.StageArg {
		os.Exit(container.StageMain())
	}
	os.Exit(m.Run())
}

const chattyConf = `lxc.rootfs.path = overlayfs:/volumes/chatty/root.squashfs:/volumes/chatty/lxc-overlay/upper
lxc.init.cmd = /bin/sh /app/script
lxc.environment = PATH=/bin
lxc.namespace.keep = user net ipc
lxc.mount.auto = proc
`

// rootFixture is a fresh storage in a temporary directory for a device
// that runs busybox containers, their cgroups below a parent of their own.
type rootFixture struct {
	dir, parent string
	st          *storage.Storage
	img         []byte // the busybox rootfs squashfs
}

func newRootFixture(t *testing.T) *rootFixture {
	t.Helper()
	testenv.RequireLoopDevices(t)
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	img, err := os.ReadFile(testenv.BusyboxRootfs(t))
	require.NoError(t, err)
	return &rootFixture{dir: dir, parent: "pvdevice-" + filepath.Base(filepath.Dir(dir)), st: st, img: img}
}

// options are the Options of a device running revision 0 of the
// fixture's storage; the parent's cgroups are removed at the end.
func (f *rootFixture) options(t *testing.T) Options {
	t.Cleanup(func() { testenv.RemoveCgroupParent(f.parent) })
	dir := f.dir
	return Options{Paths: config.Paths{Storage: f.st.Root, RunDir: dir + "/run"}, Rev: "0",
		Launch: launch.Options{Host: container.Host{VolumesDir: dir + "/volumes", ConfigsDir: dir + "/configs"},
			StateDir: dir + "/state", CgroupParent: f.parent, Exe: "/bin/busybox",
			Stage: container.Options{Exe: os.Args[0], Args: []string{os.Args[0], container.StageArg}}}}
}

// dirSize is the bytes of regular files below dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// TestChattyContainerCannotFillStorage: a container writing its console
// in a tight loop goes through the log server, whose rotation cap keeps
// the log directory within its budget (1 MiB here) however much it writes.
func TestChattyContainerCannotFillStorage(t *testing.T) {
	f := newRootFixture(t)
	dir, st, parent := f.dir, f.st, f.parent
	line := strings.Repeat("chatter ", 16)
	testenv.InstallRevision(t, st, "0", map[string][]byte{
		"chatty/lxc.container.conf": []byte(chattyConf), "chatty/root.squashfs": f.img,
		"_config/chatty/app/script": []byte("mkdir -p /var/log; echo hello-file >> /var/log/messages\n" +
			"while true; do echo " + line + "; done\n"),
	}, map[string]string{"chatty/run.json": `{"name":"chatty","type":"lxc","config":"lxc.container.conf",` +
		`"root-volume":"root.squashfs","storage":{"lxc-overlay":{"persistence":"boot"}}}`})

	const budget = 1 << 20
	o := f.options(t)
	o.Logs = &logs.Server{RunDir: dir + "/run", DirMaxSize: budget, Level: 4}
	logDir := filepath.Join(st.Root, "logs")
	var peak int64
	var mu sync.Mutex
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if n := dirSize(logDir); n > 0 {
				mu.Lock()
				peak = max(peak, n)
				mu.Unlock()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	out, err := run(t, ctx, o)
	close(stopSampling)
	<-sampled
	require.NoError(t, err)
	assert.Equal(t, engine.Exit, out.Action, out.Reason)

	rot := logs.Figures(budget, 4, 5)
	t.Logf("log dir peak %d bytes with a %d budget (rotate size %d)", peak, budget, rot.RotateSize)
	assert.LessOrEqual(t, peak, rot.Budget+rot.RotateSize, "the log dir never exceeds its budget (+ one rotate size)")
	rotated, _ := filepath.Glob(filepath.Join(logDir, "0", "chatty", "lxc", "console.log.*.gz"))
	assert.NotEmpty(t, rotated, "the console was rotated: the container wrote far more than the budget")
	assert.Equal(t, testenv.Resources{}, testenv.TakeResources(t, dir, parent), "nothing leaked")
	msgs, err := os.ReadFile(filepath.Join(logDir, "0", "chatty", "var", "log", "messages"))
	require.NoError(t, err, "the default file logger followed /var/log/messages inside the container")
	assert.Equal(t, "hello-file\n", string(msgs))
}
