// Package meta keeps Pantavisor's two metadata stores, device-meta and
// user-meta, and computes the device metadata Pantavisor publishes.
//
// # Stores
//
// Each store is a directory of files, one per key, whose content is the
// value: the run-dir view ($RUNDIR/device-meta, $RUNDIR/user-meta) that
// containers with the mgmt role see at /pantavisor/<kind>, optionally backed
// by a persisted copy (on the storage: cache/devmeta, cache/meta; or the
// device.json volumes pv--devmeta, pv--usrmeta when the revision declares
// them, chosen by lib/device) that Load copies back into the view at boot. A key "<c>.<k>" (split at the first
// dot) is also written as $RUNDIR/<kind>.<c>/<k>, the directory other
// containers get bind-mounted at /pantavisor/<kind>, so a container sees
// its own keys without the prefix.
//
// User-meta keys are also configuration overrides at the META level: the
// store reports every change to its OnChange callback, which the engine
// wires to config.Set/Unset. The Hub's user-meta list is authoritative:
// Replace makes the store equal to it.
//
// # Published device metadata
//
// System computes the keys Pantavisor publishes about the device
// (pantavisor.arch, pantavisor.version, pantavisor.dtmodel,
// pantavisor.cpumodel, pantavisor.uname, sysinfo, storage, time,
// interfaces) from /proc, uname(2), sysinfo(2), statfs(2),
// gettimeofday(2) and rtnetlink, each reached through a field tests can
// replace. JSON values keep upstream's member names and a fixed order.
package meta
