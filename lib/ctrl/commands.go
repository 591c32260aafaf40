package ctrl

import (
	"strings"

	"pantavisor/lib/config"
	"pantavisor/lib/http1"
	"pantavisor/lib/rawjson"
)

// The /commands ops, upstream's names (reference §2.3).
const (
	OpUpdateMetadata = "UPDATE_METADATA"
	OpReboot         = "REBOOT_DEVICE"
	OpPoweroff       = "POWEROFF_DEVICE"
	OpTryOnce        = "TRY_ONCE"
	OpLocalRun       = "LOCAL_RUN"
	OpMakeFactory    = "MAKE_FACTORY"
	OpRunGC          = "RUN_GC"
	OpEnableSSH      = "ENABLE_SSH"
	OpDisableSSH     = "DISABLE_SSH"
	OpGoRemote       = "GO_REMOTE"
	OpDeferReboot    = "DEFER_REBOOT"
	OpLocalRunCommit = "LOCAL_RUN_COMMIT"
	OpLocalApply     = "LOCAL_APPLY"
	OpXconnectGraph  = "XCONNECT_GRAPH"
	OpUnclaim        = "UNCLAIM"
)

// ops are the ops in upstream's enum order, which decides prefix matches.
var ops = [...]string{OpUpdateMetadata, OpReboot, OpPoweroff, OpTryOnce, OpLocalRun, OpMakeFactory,
	OpRunGC, OpEnableSSH, OpDisableSSH, OpGoRemote, OpDeferReboot, OpLocalRunCommit, OpLocalApply,
	OpXconnectGraph, OpUnclaim}

// matchOp returns the first op that op is a prefix of (upstream compares
// strlen(op) bytes, so "LOCAL" is LOCAL_RUN and even "" is
// UPDATE_METADATA), "" if none.
func matchOp(op string) string {
	for _, o := range ops {
		if strings.HasPrefix(o, op) {
			return o
		}
	}
	return ""
}

// parseCommand reads a /commands body: an object with string members
// "op" (matched by prefix) and "payload", both required.
func parseCommand(body []byte) (Command, bool) {
	v, err := rawjson.Parse(body)
	if err != nil || v.Kind != rawjson.Object {
		return Command{}, false
	}
	op, ok := v.Get("op")
	if !ok || op.Kind != rawjson.String {
		return Command{}, false
	}
	name := matchOp(op.Str)
	if name == "" {
		return Command{}, false
	}
	p, ok := v.Get("payload")
	if !ok || p.Kind != rawjson.String {
		return Command{}, false
	}
	return Command{Op: name, Payload: p.Str}, true
}

// rejection is why a command is refused; retry is the Retry-After
// seconds of a 503.
type rejection struct {
	status int
	retry  string
	msg    string
}

// check applies upstream's rejection checks in their order; nil means
// the command can be queued (the pending slot is checked by the caller).
func (s *Server) check(op string) *rejection {
	remote := call(s.Remote)
	switch {
	case op == OpUpdateMetadata && !remote:
		return &rejection{409, "", "Cannot do this operation while on local mode"}
	case call(s.Updating) && blockedByUpdate(op):
		return &rejection{503, "600", "Cannot do this operation while update is ongoing"}
	case op == OpMakeFactory && call(s.Claimed):
		return &rejection{409, "", "Cannot do this operation if device is already claimed"}
	case op == OpGoRemote && !s.configBool(config.ControlRemote):
		return &rejection{409, "", "Cannot do this operation when remote mode is disabled by config"}
	case op == OpDeferReboot && !s.configBool(config.DebugShell):
		return &rejection{409, "", "Cannot do this operation when debug shell is not active"}
	case op == OpGoRemote && remote:
		return &rejection{204, "", "Already in remote mode"}
	case op == OpUnclaim && !call(s.Claimed):
		return &rejection{204, "", "Device is already unclaimed"}
	}
	return nil
}

func blockedByUpdate(op string) bool {
	switch op {
	case OpReboot, OpPoweroff, OpLocalRun, OpLocalRunCommit, OpMakeFactory, OpUnclaim:
		return true
	}
	return false
}

func call(f func() bool) bool { return f != nil && f() }

// configBool reads a boolean key of Config (the defaults when nil).
func (s *Server) configBool(k config.Key) bool { return s.cfg().Get(k).Bool() }

// command answers POST /commands: parse, rejection checks, then the one
// pending slot; an accepted command goes to Commands. Ops without a
// handler upstream (TRY_ONCE, LOCAL_APPLY, XCONNECT_GRAPH) are accepted
// and dropped.
func (s *Server) command(w *http1.Response, r *http1.Request, _ *Caller, _ []string) {
	body, err := readBody(r, maxCommandBody)
	if err != nil {
		sendBodyError(w, err, "Command has bad format")
		return
	}
	if len(body) == 0 {
		sendError(w, 400, "No command found")
		return
	}
	cmd, ok := parseCommand(body)
	if !ok {
		sendError(w, 400, "Command has bad format")
		return
	}
	if rej := s.check(cmd.Op); rej != nil {
		sendRejection(w, rej)
		return
	}
	if !s.queue(cmd) {
		sendRejection(w, &rejection{503, "120", "A command is already in progress. Try again"})
		return
	}
	sendOK(w)
}

// queue takes the pending slot and hands cmd to Commands; false when a
// command is still pending. Ops upstream has no handler for are accepted
// and dropped without taking the slot.
func (s *Server) queue(cmd Command) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending {
		return false
	}
	switch cmd.Op {
	case OpTryOnce, OpLocalApply, OpXconnectGraph:
		s.logf("command " + cmd.Op + " has no handler: ignoring")
		return true
	}
	select {
	case s.Commands <- cmd:
		s.pending = true
		return true
	default: // the device has not taken the last command yet
		return false
	}
}

// sendRejection answers a refused command; a 204 carries no body.
func sendRejection(w *http1.Response, rej *rejection) {
	if rej.retry != "" {
		w.Header().Set("Retry-After", rej.retry)
	}
	if rej.status == 204 {
		w.Send(204, "application/json", nil)
		return
	}
	sendError(w, rej.status, rej.msg)
}
