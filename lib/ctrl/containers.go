package ctrl

import (
	"context"
	"errors"
	"strconv"
	"time"

	"pantavisor/lib/engine"
	"pantavisor/lib/http1"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
)

// Body caps of upstream's pv_ctrl_utils_get_data calls, in bytes.
const (
	maxActionBody  = 1024 // PUT /containers/{}, PUT /daemons/{}
	maxSignalBody  = 4096
	maxCommandBody = 4096
	maxMetaBody    = 4096
)

// engineContext bounds a request's wait on the engine loop.
func (s *Server) engineContext() (context.Context, context.CancelFunc) {
	t := s.timeout
	if t == 0 {
		t = 10 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// containers answers GET /containers (reference §2.1).
func (s *Server) containers(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	st, e := s.revision()
	if e == nil {
		sendError(w, 500, "State not loaded yet")
		return
	}
	b := []byte{'['}
	for i, cs := range e.Containers() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendContainer(b, cs, stateContainer(st, cs.Name))
	}
	sendJSON(w, append(b, ']'))
}

func stateContainer(st *state.State, name string) *state.Container {
	if st == nil {
		return nil
	}
	return st.Container(name)
}

// appendContainer writes one element of GET /containers, fields in
// upstream's order. What the engine leaves empty (restart policy, roles,
// auto-recovery) is taken from the state's container sc when known.
func appendContainer(b []byte, cs engine.ContainerStatus, sc *state.Container) []byte {
	policy, roles, ar := cs.RestartPolicy, cs.Roles, cs.AutoRecovery
	mgmt := false
	if sc != nil {
		policy = cmpOr(policy, sc.RestartPolicy)
		if roles == nil {
			roles = sc.Roles
		}
		if ar == nil {
			ar = sc.AutoRecovery
		}
		mgmt = sc.Mgmt
	}
	b = append(b, `{"name":`...)
	b = rawjson.AppendString(b, cs.Name)
	b = append(b, `,"group":`...)
	if cs.Group == "" {
		b = append(b, "null"...)
	} else {
		b = rawjson.AppendString(b, cs.Group)
	}
	b = append(b, `,"status":`...)
	b = rawjson.AppendString(b, cs.Status.String())
	b = append(b, `,"status_goal":`...)
	b = rawjson.AppendString(b, cmpOr(cs.Goal, "NONE"))
	b = append(b, `,"restart_policy":`...)
	b = rawjson.AppendString(b, policy)
	b = append(b, `,"roles":`...)
	b = appendRoles(b, roles, mgmt)
	if ar != nil && ar.Policy != "no" && ar.Policy != "" {
		b = append(b, `,"auto_recovery":{"policy":`...)
		b = rawjson.AppendString(b, ar.Policy)
		b = append(b, `,"max_retries":`...)
		b = strconv.AppendInt(b, int64(ar.MaxRetries), 10)
		b = append(b, `,"current_retries":`...)
		b = strconv.AppendInt(b, int64(cs.Retries), 10)
		b = append(b, `,"stable_timeout":`...)
		b = strconv.AppendInt(b, int64(ar.StableTimeout), 10)
		b = append(b, `,"is_stable":`...)
		b = appendStrBool(b, cs.Stable)
		b = append(b, `,"backoff_policy":`...)
		b = rawjson.AppendString(b, backoffPolicy(ar.BackoffPolicy))
		b = append(b, '}')
	}
	if policy == state.PolicyContainer {
		b = append(b, `,"user_stopped":`...)
		b = appendStrBool(b, cs.UserStopped)
	}
	return append(b, '}')
}

// appendRoles writes the roles array. Without a "roles" list a container
// has role mgmt (upstream default), shown as ["mgmt"].
func appendRoles(b []byte, roles []string, mgmt bool) []byte {
	if len(roles) == 0 && mgmt {
		roles = []string{"mgmt"}
	}
	b = append(b, '[')
	for i, r := range roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = rawjson.AppendString(b, r)
	}
	return append(b, ']')
}

// appendStrBool writes upstream's string booleans "true" and "false".
func appendStrBool(b []byte, v bool) []byte {
	if v {
		return append(b, `"true"`...)
	}
	return append(b, `"false"`...)
}

// backoffPolicy renders a backoff_policy as upstream: reboot, never, or
// the duration in the largest unit that divides it (<n>h, <n>min, <n>s).
func backoffPolicy(p string) string {
	if p == "" || p == "reboot" || p == "never" {
		return cmpOr(p, "reboot")
	}
	n, err := state.ParseDuration(p)
	if err != nil {
		return p
	}
	switch {
	case n > 0 && n%3600 == 0:
		return strconv.Itoa(n/3600) + "h"
	case n > 0 && n%60 == 0:
		return strconv.Itoa(n/60) + "min"
	}
	return strconv.Itoa(n) + "s"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// groups answers GET /groups (reference §2.1).
func (s *Server) groups(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	_, e := s.revision()
	if e == nil {
		sendError(w, 500, "State not loaded yet")
		return
	}
	b := []byte{'['}
	for i, g := range e.Groups() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendGroup(b, g)
	}
	sendJSON(w, append(b, ']'))
}

func appendGroup(b []byte, g engine.GroupStatus) []byte {
	b = append(b, `{"name":`...)
	b = rawjson.AppendString(b, g.Name)
	b = append(b, `,"status_goal":`...)
	b = rawjson.AppendString(b, cmpOr(g.Goal, "NONE"))
	b = append(b, `,"restart_policy":`...)
	b = rawjson.AppendString(b, g.RestartPolicy)
	b = append(b, `,"status":`...)
	b = rawjson.AppendString(b, g.Status.String())
	if ar := g.AutoRecovery; ar != nil && ar.Policy != "no" && ar.Policy != "" {
		b = append(b, `,"auto_recovery":{"max_retries":`...)
		b = strconv.AppendInt(b, int64(ar.MaxRetries), 10)
		b = append(b, `,"stable_timeout":`...)
		b = strconv.AppendInt(b, int64(ar.StableTimeout), 10)
		b = append(b, `,"backoff_policy":`...)
		b = rawjson.AppendString(b, backoffPolicy(ar.BackoffPolicy))
		b = append(b, '}')
	}
	return append(b, '}')
}

// controlContainer answers PUT /containers/{name} {"action":...}: checks
// in upstream's order (name, existence, restart policy, body, action),
// then asks the engine, which acts asynchronously.
func (s *Server) controlContainer(w *http1.Response, r *http1.Request, _ *Caller, args []string) {
	name := args[0]
	if name == "" {
		sendError(w, 400, "Missing container name")
		return
	}
	st, e := s.revision()
	sc := stateContainer(st, name)
	if sc == nil {
		sendError(w, 404, "Container not found")
		return
	}
	if sc.RestartPolicy != state.PolicyContainer {
		sendError(w, 403, "Container has restart_policy 'system' and cannot be controlled via API")
		return
	}
	body, err := readBody(r, maxActionBody)
	if err != nil || len(body) == 0 {
		sendBodyError(w, err, "No data")
		return
	}
	v, err := rawjson.Parse(body)
	if err != nil {
		sendError(w, 400, "Invalid JSON")
		return
	}
	a, ok := v.Get("action")
	if !ok || a.Kind != rawjson.String {
		sendError(w, 400, "Missing 'action' field")
		return
	}
	switch a.Str {
	case "start", "stop", "restart":
	default:
		sendError(w, 400, "Invalid action. Use 'start', 'stop', or 'restart'")
		return
	}
	if e == nil {
		sendError(w, 500, "State not loaded yet")
		return
	}
	ctx, cancel := s.engineContext()
	defer cancel()
	if err := e.Control(ctx, name, a.Str); err != nil {
		status, msg := controlError(err)
		sendError(w, status, msg)
		return
	}
	sendOK(w)
}

// controlError maps an engine Control error to upstream's answer.
func controlError(err error) (int, string) {
	switch {
	case errors.Is(err, engine.ErrNoContainer):
		return 404, "Container not found"
	case errors.Is(err, engine.ErrSystemPolicy):
		return 403, "Container has restart_policy 'system' and cannot be controlled via API"
	case errors.Is(err, engine.ErrNotStartable):
		return 400, "Container must be in STOPPED, STOPPING, or RECOVERING state to start"
	case errors.Is(err, engine.ErrNotRestartable):
		return 400, "Container state does not allow restart"
	case errors.Is(err, engine.ErrBadAction):
		return 400, "Invalid action. Use 'start', 'stop', or 'restart'"
	}
	return 500, "Out of memory" // upstream's only other failure
}

// signal answers POST /signal {"type":"ready","payload":""}, the one
// route any container may use: the signal is the caller's own.
func (s *Server) signal(w *http1.Response, r *http1.Request, c *Caller, _ []string) {
	body, err := readBody(r, maxSignalBody)
	if err != nil || len(body) == 0 {
		sendBodyError(w, err, "Signal has bad format")
		return
	}
	kind, ok := parseSignal(body)
	if !ok {
		sendError(w, 400, "Signal has bad format")
		return
	}
	_, e := s.revision()
	if e == nil {
		sendError(w, 500, "State not loaded yet")
		return
	}
	ctx, cancel := s.engineContext()
	defer cancel()
	if c.Name == pvName || e.Signal(ctx, c.Name, kind) != nil {
		sendError(w, 500, "Signal not expected from this platform")
		return
	}
	sendOK(w)
}

// parseSignal returns the "type" of a signal body; "payload" is optional
// and unused, as upstream.
func parseSignal(body []byte) (string, bool) {
	v, err := rawjson.Parse(body)
	if err != nil || v.Kind != rawjson.Object {
		return "", false
	}
	t, ok := v.Get("type")
	switch {
	case !ok:
		return "", false
	case t.Kind == rawjson.String:
		return t.Str, true
	}
	return string(t.Raw), true
}
