package lxcconf

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fuzzFS holds the files a fuzzed config may include.
var fuzzFS = fstest.MapFS{
	"inc.conf":     {Data: []byte("lxc.environment = I=1\nlxc.cap.keep = kill\n")},
	"d/a.conf":     {Data: []byte("lxc.uts.name = a\nlxc.include = ../inc.conf\n")},
	"loop.conf":    {Data: []byte("lxc.include = loop.conf\n")},
	"fstab":        {Data: []byte("proc proc proc nodev 0 0\n")},
	"bad.fstab":    {Data: []byte("x\n")},
	"d/b.conf.txt": {Data: []byte("lxc.bogus = 1\n")},
}

// FuzzParse checks that Parse never panics, that whatever parses parses
// again from the same bytes to the same model and warnings, and that every
// warning names a file and a line.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/pvwificonnect.conf", "testdata/watchdog_pinger.conf"} {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(string(b))
	}
	f.Add("lxc.include = inc.conf\nlxc.include = d\nlxc.include = loop.conf\nlxc.mount.fstab = fstab\n")
	f.Add("lxc.utsname = x\nlxc.network.type = veth\nlxc.network.ipv4 = 1.2.3.4/24\nlxc.limit.core = 0\nfoo = 1\n")
	f.Add("lxc.net.0.type = none\nlxc.net.1.veth.ipv4.route = r\nlxc.hook.start = \"/x y\"\nlxc.hook.version = 1\n")
	f.Add("lxc.mount.auto = proc:rw sys cgroup-full:ro:force shmounts:/a:/b\nlxc.mount.entry = /a\\040b c none bind,optional 0 0\n")
	f.Add("lxc.cap.keep = none\nlxc.cap.drop = kill\nlxc.namespace.keep = net\nlxc.namespace.clone = pid\n")
	f.Add("lxc.signal.halt = SIGRTMAX-3\nlxc.log.level = trace\nlxc.idmap = u 0 1 2\nlxc.cgroup.x =\nlxc.apparmor.profile = u\n")
	f.Add("lxc.rootfs.path = overlay:/l1:/l2:/u\nlxc.rootfs.options = ro\nlxc.namespace.share.net = x\nlxc.init.cmd = a \"b\\\"c\n")
	f.Fuzz(func(t *testing.T, in string) {
		opts := Options{FS: fuzzFS}
		c, warns, err := opts.Parse(strings.NewReader(in), "t.conf")
		c2, warns2, err2 := opts.Parse(strings.NewReader(in), "t.conf")
		assert.Equal(t, err, err2)
		assert.Equal(t, c, c2)
		assert.Equal(t, warns, warns2)
		for _, w := range warns {
			if w.File == "" || w.Line < 1 || w.Err == nil {
				t.Fatalf("warning without a place: %#v", w)
			}
		}
		if err != nil {
			assert.Nil(t, c)
			return
		}
		for i := 1; i < len(c.Net); i++ {
			if c.Net[i-1].Index >= c.Net[i].Index {
				t.Fatalf("networks out of order: %v", c.Net)
			}
		}
		c.InitArgv()
		c.CloneFlags()
		c.Capabilities(63)
		for _, m := range c.AllMounts() {
			m.Opts()
		}
	})
}
