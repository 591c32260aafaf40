// Package cgroup puts each container in a cgroup of its own, named after
// it, on cgroup v1 (legacy), cgroup v2 (unified) or both (hybrid).
//
// A Manager finds the hierarchies from mountinfo and creates
// <hierarchy>/<Parent>/<name> in every v1 hierarchy (named ones included)
// and in the cgroup2 hierarchy when one is mounted. The name is the
// container's identity: NameOf maps a pid back to it through
// /proc/<pid>/cgroup.
//
// Limits come from LXC keys (see Setting). lxc.cgroup.<c>.<file> is written
// to the v1 hierarchy of controller c when one is mounted; otherwise, when a
// cgroup2 hierarchy exists, the few keys with a well-known v2 equivalent are
// translated (see translate.go) and every other key is refused with
// ErrNoV2Equivalent. LXC itself ignores legacy keys on a pure cgroup2 system
// with a warning; a library cannot warn, and a memory limit that silently
// disappears is worse than a container that refuses to start, so we
// translate what is unambiguous and refuse the rest. devices.* keys are
// the exception, as in upstream Pantavisor: without a v1 devices hierarchy
// they are accepted and ignored, meaning "allow all" (a v2 device filter
// needs an eBPF program, which we do not load). lxc.cgroup2.<file> is
// written to the cgroup2 directory of the group.
//
// Mounts lists what PID 1 mounts on /sys/fs/cgroup, as upstream does.
package cgroup
