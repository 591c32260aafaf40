// Package hub is the device's Pantacor Hub client: the Agent registers the
// device, waits for its claim, logs in, uploads the factory revision,
// polls for new steps, downloads their objects, reports progress and
// exchanges metadata, following upstream's pantahub.c state machine
// (shared/reference/pantahub-protocol.md §1-§3).
//
// One goroutine (Agent.Run) owns all the agent's state; other goroutines
// read a snapshot (Agent.State) and hand progress in (Agent.Report),
// neither of which ever waits for the hub. The device is reached through
// the small Device interface; the transport is lib/hub/hubhttp, the
// messages lib/hub/proto, the downloads lib/hub/fetch.
//
// The log push (POST /logs/) is not part of the Agent: like upstream's
// pv-phlogger-push it is a separate pusher that reads the same
// credentials file, logs in on its own with proto.AppendLogin and gates
// itself on State().Online and State().Claimed.
package hub
