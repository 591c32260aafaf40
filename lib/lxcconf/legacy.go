package lxcconf

import (
	"strings"

	"pantavisor/lib/printf"
)

// legacyName maps a key LXC 3.0 renamed (lxc-update-config's list) to its
// current name; "" marks a key LXC 3.0 dropped.
type legacyName struct{ old, cur string }

// legacyKeys is sorted by old name.
var legacyKeys = [...]legacyName{
	{"lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"},
	{"lxc.aa_profile", "lxc.apparmor.profile"},
	{"lxc.console", "lxc.console.path"},
	{"lxc.devttydir", "lxc.tty.dir"},
	{"lxc.haltsignal", "lxc.signal.halt"},
	{"lxc.id_map", "lxc.idmap"},
	{"lxc.init_cmd", "lxc.init.cmd"},
	{"lxc.init_gid", "lxc.init.gid"},
	{"lxc.init_uid", "lxc.init.uid"},
	{"lxc.kmsg", ""},
	{"lxc.logfile", "lxc.log.file"},
	{"lxc.loglevel", "lxc.log.level"},
	{"lxc.mount", "lxc.mount.fstab"},
	{"lxc.pivotdir", ""},
	{"lxc.pts", "lxc.pty.max"},
	{"lxc.rebootsignal", "lxc.signal.reboot"},
	{"lxc.rootfs", "lxc.rootfs.path"},
	{"lxc.rootfs.backend", ""},
	{"lxc.se_context", "lxc.selinux.context"},
	{"lxc.seccomp", "lxc.seccomp.profile"},
	{"lxc.stopsignal", "lxc.signal.stop"},
	{"lxc.syslog", "lxc.log.syslog"},
	{"lxc.tty", "lxc.tty.max"},
	{"lxc.utsname", "lxc.uts.name"},
}

// legacyErr is the warning for a legacy key applied as cur.
func legacyErr(cur string) error { return printf.Errorf("%w: use %s", ErrLegacyKey, cur) }

// setLegacy applies a legacy key under its current name with a warning,
// and reports whether key was one. Dropped keys are ignored with a warning.
func (p *parser) setLegacy(at pos, key, v string) (bool, error) {
	if key == "lxc.network" || strings.HasPrefix(key, "lxc.network.") {
		return true, p.setNetLegacy(at, key, v)
	}
	cur := ""
	if rest, ok := strings.CutPrefix(key, "lxc.limit."); ok {
		cur = "lxc.prlimit." + rest
	} else {
		i := search(len(legacyKeys), func(i int) string { return legacyKeys[i].old }, key)
		if i < 0 {
			return false, nil
		}
		if cur = legacyKeys[i].cur; cur == "" {
			p.warn(at, key, printf.Errorf("%w: dropped by LXC 3.0, ignored", ErrLegacyKey))
			return true, nil
		}
	}
	p.warn(at, key, legacyErr(cur))
	return true, p.set(at, cur, v)
}
