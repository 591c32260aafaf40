package container

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/lxcconf"
)

func TestNotApplied(t *testing.T) {
	tests := []struct {
		key, value, why string // why "" = applied
	}{
		{"lxc.console.logfile", "/x", "logs/<rev>/<c>/lxc/console.log"},
		{"lxc.console.path", "none", "pty of the launcher"},
		{"lxc.hook.pre-start", "/x", "hooks are not run"},
		{"lxc.hook.version", "1", "hooks are not run"},
		{"lxc.hook.version", "0", ""},
		{"lxc.log.file", "/x", "LXC's own log"},
		{"lxc.log.level", "DEBUG", "LXC's own log"},
		{"lxc.namespace.share.net", "other", "not joined"},
		{"lxc.net.0.type", "veth", ""},
		{"lxc.net.1.type", "macvlan", ""},
		{"lxc.net.0.type", "empty", ""},
		{"lxc.net.0.type", "none", ""},
		{"lxc.net.0.type", "phys", "type phys: only veth, macvlan, empty and none"},
		{"lxc.net.0.type", "vlan", "the start is refused"},
		{"lxc.net.0.link", "lxcbr0", ""},
		{"lxc.net.0.name", "eth0", ""},
		{"lxc.net.0.hwaddr", "00:16:3e:xx:xx:xx", ""},
		{"lxc.net.0.flags", "up", ""},
		{"lxc.net.0.ipv4.address", "10.0.3.2/24", ""},
		{"lxc.net.0.ipv4.gateway", "10.0.3.1", ""},
		{"lxc.net.0.veth.pair", "vethweb", ""},
		{"lxc.net.0.mtu", "1400", "only type, link, name"},
		{"lxc.net.0.ipv6.address", "fd00::2/64", "only type, link, name"},
		{"lxc.net.0.script.up", "/x", "only type, link, name"},
		{"lxc.pty.max", "1024", "without a limit"},
		{"lxc.rootfs.mount", "/m", "state dir"},
		{"lxc.rootfs.options", "ro", "no extra mount options"},
		{"lxc.signal.reboot", "SIGINT", "reboot"},
		{"lxc.signal.stop", "SIGKILL", "SIGKILL to the cgroup"},
		{"lxc.tty.max", "8", "no /dev/ttyN"},
		{"lxc.mount.auto", "proc shmounts:/a:/b", "shmounts"},
		{"lxc.mount.auto", "proc sys cgroup", ""},
		{"lxc.no_new_privs", "1", ""},
		{"lxc.idmap", "u 0 1 1", ""},
		{"lxc.signal.halt", "SIGTERM", ""},
		{"lxc.net", "", ""},
		{"lxc.netx", "1", ""},
		{"lxc.rootfs.path", "/x", ""},
		{"lxc.init.cmd", "/x", ""},
		{"lxc.cgroup.pids.max", "10", ""},
	}
	for _, tt := range tests {
		err := NotApplied(tt.key, tt.value)
		if tt.why == "" {
			assert.NoError(t, err, tt.key)
			continue
		}
		assert.ErrorIs(t, err, ErrNotApplied, tt.key)
		assert.ErrorContains(t, err, tt.why, tt.key)
	}
}

// TestNotAppliedKeysParse: every key of the table is one lxcconf models
// (accepted without its own warning), so the table names no typo.
func TestNotAppliedKeysParse(t *testing.T) {
	for _, n := range notApplied {
		key := n.key
		if strings.HasSuffix(key, ".") {
			key += map[string]string{"lxc.hook.": "start", "lxc.namespace.share.": "net"}[key]
		}
		_, warns, err := lxcconf.Parse(strings.NewReader(key+" = 1\n"), "t.conf")
		require.NoError(t, err, key)
		assert.Empty(t, warns, key)
	}
}
