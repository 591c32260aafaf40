// Package logs is the log server: it receives log messages from pantavisor,
// from containers and from file descriptors, and writes them to the log tree
// under the storage's logs/ directory within a size budget.
//
// Inputs:
//   - pv-ctrl-log, an AF_UNIX SOCK_STREAM socket in the run dir (and /dev/log,
//     a symlink to it), speaking five wire formats detected per message (see
//     Parse): RFC 5424, RFC 3164, JSON, key=value and the legacy binary struct
//     (plus its internal command variant). The sender's platform is its
//     cgroup, found from SO_PEERCRED, never trusted from the payload (except
//     in the legacy binary format, as upstream does).
//   - pv-fd-log, an AF_UNIX SOCK_STREAM socket where a client passes a file
//     descriptor with SCM_RIGHTS (see SubscribeFD); the server logs the lines
//     read from it. Server.Subscribe does the same in-process (container
//     consoles, LXC log pipes) and Server.Capture reads /dev/kmsg.
//   - Server.Log, pantavisor's own messages.
//
// Outputs (PV_LOG_SERVER_OUTPUTS, see ParseOutputs): filetree
// (logs/<rev>/<platform>/<source>, pantavisor's own in
// logs/<rev>/pantavisor/pantavisor.log), singlefile (logs/<rev>/pv.log, JSON
// lines), stdout variants and nullsink. Files rotate to <name>.<N>.gz and the
// whole log dir is capped with the hysteresis of upstream's
// logserver_rotation.c (see Budget).
//
// A connection's byte stream is split into messages by Frames: a binary
// message by its length header, a text message by a NUL byte (what glibc's
// syslog() sends on a stream socket), by the end of the connection, or, for
// a client that never sent a NUL, by the end of each read (upstream's rule:
// one read is one message).
package logs
