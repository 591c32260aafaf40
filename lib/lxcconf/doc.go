// Package lxcconf parses LXC container configuration files, as pvr writes
// them and users extend them, into a typed Config for the container
// launcher. It never applies anything: the launcher asks Config for clone
// flags, capabilities, mounts and the init command.
//
// # Syntax
//
// As LXC's parse_line: one "key = value" a line, split at the first '=',
// blanks around key and value trimmed, one pair of matching quotes around
// the value removed; lines whose first non-blank is '#' and blank lines are
// skipped; '#' later in a line is part of the value. A line without '=' is
// an error naming file:line (LXC ignores such a line unless it starts with
// "lxc."). Keys not starting with "lxc." and unknown lxc.* keys are ignored
// with an ErrUnknownKey warning (LXC ignores the first kind and refuses the
// second).
//
// # Repeated keys
//
// Single-valued keys: the last line wins, an empty value resets to the
// default. Lists accumulate, an empty value clears: lxc.environment,
// lxc.mount.entry, lxc.cap.keep and lxc.cap.drop (several names a line),
// lxc.idmap, lxc.hook.<type> (clears that type; bare lxc.hook = clears all),
// lxc.cgroup.<key> and lxc.cgroup2.<key> (an empty value removes that key;
// bare lxc.cgroup = clears all), lxc.net.<n>.ipv4.address and ipv6.address
// (bare lxc.net = removes every network). lxc.namespace.keep and
// lxc.namespace.clone OR their names together and clear on empty.
// lxc.mount.auto tokens each replace their own part (proc, sys, cgroup,
// shmounts); empty resets all. lxc.mount.fstab keeps the last path; an
// empty value is an error, as in LXC.
//
// # Includes
//
// lxc.include names a file, or a directory whose *.conf files are read in
// name order (LXC takes readdir order). A relative value is resolved
// against the including file's directory (LXC uses the working directory);
// lxc.mount.fstab likewise. Files are read where the key stands, so later
// lines override them. An include loop or nesting deeper than 16 is an
// error wrapping ErrInclude.
//
// # Values
//
// Capability names are lower case without CAP_ (or numbers up to 63), as
// LXC compares them exactly; an unknown name is an error. lxc.cap.keep and
// lxc.cap.drop together are an error (LXC refuses to start such a
// container), as are lxc.namespace.keep with lxc.namespace.clone (LXC
// refuses the config line). Namespace names: user, mnt, pid, uts, ipc, net,
// cgroup, time, in any case. Signals: a number, SIG<NAME> in any case,
// SIGRTMIN+n or SIGRTMAX-n (glibc's 34 and 64). lxc.init.cmd is split by
// SplitCommand, Pantavisor LXC's rule with double quotes.
//
// # Legacy and raw keys
//
// Keys renamed by LXC 3.0 (lxc.utsname, lxc.rootfs, lxc.init_cmd, lxc.tty,
// lxc.pts, lxc.network.*, …, the list of lxc-update-config) are applied
// under their new name with an ErrLegacyKey warning; keys it dropped
// (lxc.pivotdir, lxc.kmsg, lxc.rootfs.backend) are ignored with one.
// lxc.apparmor.*, lxc.seccomp.* and lxc.selinux.* are kept in Config.Raw
// with an ErrEnforced warning; other LXC keys this package does not model
// (lxc.prlimit.*, lxc.sysctl.*, lxc.console.size, …) are
// kept in Config.Raw with an ErrNotApplied warning.
package lxcconf
