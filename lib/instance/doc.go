// Package instance makes the engine the only one on its storage and cgroup
// parent, and clears what a previous engine left behind before it starts.
//
// Acquire takes an exclusive flock(2) on the storage directory itself and,
// in appengine mode, on the cgroup parent directory (in the cgroup2
// hierarchy, else the first v1 one). Locking the directories, not a lock
// file next to them, works on a storage that is read-only to us, leaves
// nothing in the storage to clean, and covers engines that do not share a
// /run (another mount namespace). The kernel drops a flock when the last
// descriptor of it closes, so an engine killed by SIGKILL never blocks its
// own restart; the descriptors are O_CLOEXEC, so containers never inherit
// them. A second engine gets an error matching ErrLocked that names the
// holder's pid when /proc/locks shows it.
//
// Cleanup, called with the lock held and before anything starts, kills the
// processes left in the container cgroups (and removes those cgroups),
// unmounts the mounts below the engine's directories deepest first
// (lazily when busy), detaches the loop devices whose backing file is in
// the storage's objects/ or trails/, and removes stale control sockets. It
// returns a Report for the log.
package instance
