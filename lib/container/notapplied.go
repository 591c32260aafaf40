package container

import (
	"errors"
	"strings"

	"pantavisor/lib/printf"
)

// ErrNotApplied is a setting lxcconf parses that the launcher does not
// apply (NotApplied).
var ErrNotApplied = errors.New("not applied by the launcher")

// notApplied are the keys lxcconf models and the launcher leaves alone,
// with why; a key ending in '.' stands for every key it prefixes. README
// (pv-container) lists the same. lxcconf itself warns about the keys it
// keeps raw (lxc.prlimit.*, lxc.sysctl.*, security modules, …).
var notApplied = [...]struct{ key, why string }{
	{"lxc.console.logfile", "the console is logged to logs/<rev>/<c>/lxc/console.log"},
	{"lxc.console.path", "the console is a pty of the launcher"},
	{"lxc.hook.", "hooks are not run"},
	{"lxc.log.file", "LXC's own log: the launcher reports to pantavisor's log"},
	{"lxc.log.level", "LXC's own log: the launcher reports to pantavisor's log"},
	{"lxc.namespace.share.", "the namespace is the launcher's, not joined from the named container or process"},
	{"lxc.pty.max", "devpts is a new instance without a limit"},
	{"lxc.rootfs.mount", "the rootfs is assembled in the launcher's state dir"},
	{"lxc.rootfs.options", "the rootfs takes no extra mount options"},
	{"lxc.signal.reboot", "a reboot of the init is not turned into a restart"},
	{"lxc.signal.stop", "stopping sends lxc.signal.halt, then SIGKILL to the cgroup"},
	{"lxc.tty.max", "no /dev/ttyN: the container has one console"},
}

// NotApplied reports, as an error wrapping ErrNotApplied with the reason,
// whether the launcher ignores the setting key = value; nil when it applies
// it or lxcconf already warns about it. It is lxcconf.Options.NotApplied.
func NotApplied(key, value string) error {
	if key == "lxc.mount.auto" && strings.Contains(value, "shmounts:") {
		return printf.Errorf("%w: shmounts: no shared mount point is set up", ErrNotApplied)
	}
	if key == "lxc.hook.version" && value == "0" {
		return nil // the default, nothing to run
	}
	if rest, ok := strings.CutPrefix(key, "lxc.net."); ok {
		return netNotApplied(rest, value)
	}
	for _, n := range notApplied {
		if key == n.key || (strings.HasSuffix(n.key, ".") && strings.HasPrefix(key, n.key)) {
			return printf.Errorf("%w: %s", ErrNotApplied, n.why)
		}
	}
	return nil
}

// netApplied are the lxc.net.<n> sub-keys the device's networks apply
// (lib/netpool): veth on a bridge and macvlan links, configured by the
// stage.
var netApplied = [...]string{"type", "link", "name", "hwaddr", "flags", "ipv4.address", "ipv4.gateway", "veth.pair"}

// netNotApplied checks lxc.net.<n>.<sub> (rest is "<n>.<sub>").
func netNotApplied(rest, value string) error {
	_, sub, _ := strings.Cut(rest, ".")
	if sub == "type" {
		switch value {
		case "veth", "macvlan", "empty", "none":
			return nil
		}
		return printf.Errorf("%w: type %s: only veth, macvlan, empty and none are set up (the start is refused)", ErrNotApplied, value)
	}
	for _, k := range netApplied {
		if sub == k {
			return nil
		}
	}
	return printf.Errorf("%w: only %s are applied to a container's interface", ErrNotApplied, strings.Join(netApplied[:], ", "))
}
