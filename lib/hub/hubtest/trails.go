package hubtest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (h *Hub) getTrails(w http.ResponseWriter, r *http.Request) {
	s, ok := h.auth(w, r)
	if !ok {
		return
	}
	out := []any{}
	if d := h.st.devices[s.id]; d != nil && d.trail {
		out = append(out, map[string]any{"id": d.ID, "owner": d.Owner, "device": d.PRN,
			"last-insync": time.Time{}, "last-touched": time.Time{}})
	}
	writeJSON(w, http.StatusOK, out)
}

// postTrail creates the trail and step 0 (DONE, "Factory State (rev 0)")
// from the posted state.
func (h *Hub) postTrail(w http.ResponseWriter, r *http.Request, body []byte) {
	s, ok := h.authOwned(w, r)
	if !ok {
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		restError(w, http.StatusBadRequest, "state must be a JSON object")
		return
	}
	d := h.st.devices[s.id]
	if d.trail {
		restError(w, http.StatusInternalServerError, "Error inserting trail into database: duplicate key")
		return
	}
	d.trail = true
	d.steps[0] = &step{rev: 0, state: append(json.RawMessage(nil), body...),
		commitMsg: "Factory State (rev 0)", progress: newProgress("DONE")}
	writeJSON(w, http.StatusOK, map[string]any{"id": d.ID, "owner": s.owner, "device": d.PRN,
		"factory-state": json.RawMessage(body)})
}

// getSteps answers the pending-steps query: progress.status is either
// {"$in":[…]} or one status; without it, the first NEW step.
func (h *Hub) getSteps(w http.ResponseWriter, r *http.Request, id string) {
	s, ok := h.auth(w, r)
	if !ok {
		return
	}
	q, has := r.URL.Query()["progress.status"]
	var want []string
	limit := -1
	switch {
	case !has:
		want, limit = []string{"NEW"}, 1
	case strings.HasPrefix(strings.TrimSpace(q[0]), "{"):
		var f struct {
			In []string `json:"$in"`
		}
		if err := json.Unmarshal([]byte(q[0]), &f); err != nil {
			restError(w, http.StatusBadRequest, "bad progress.status filter: "+err.Error())
			return
		}
		want = f.In
	default:
		want = []string{q[0]}
	}
	out := []any{}
	d := h.st.devices[id]
	if d != nil && s.id == id {
		for _, rev := range sortedRevs(d) {
			st := d.steps[rev]
			status, _ := st.progress["status"].(string)
			if slices.Contains(want, status) && (limit < 0 || len(out) < limit) {
				out = append(out, stepJSON(d, st))
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func sortedRevs(d *device) []int {
	revs := make([]int, 0, len(d.steps))
	for rev := range d.steps {
		revs = append(revs, rev)
	}
	slices.Sort(revs)
	return revs
}

func stepJSON(d *device, st *step) map[string]any {
	return map[string]any{
		"id": d.ID + "-" + strconv.Itoa(st.rev), "trail-id": d.ID, "rev": st.rev,
		"commit-msg": st.commitMsg, "committer": "", "device": d.PRN, "owner": d.Owner,
		"garbage": false, "meta": map[string]any{}, "progress": st.progress,
		"state": st.state, "state-sha": shaHex(st.state),
	}
}

// putProgress stores the step's progress as pantahub-base does (retries
// and logs dropped) and records the PUT in the history.
func (h *Hub) putProgress(w http.ResponseWriter, r *http.Request, id, revText string, body []byte) {
	s, ok := h.auth(w, r)
	if !ok {
		return
	}
	d := h.st.devices[id]
	rev, err := strconv.Atoi(revText)
	if d == nil || s.id != id || err != nil || d.steps[rev] == nil {
		restError(w, http.StatusNotFound, "no such step")
		return
	}
	var p struct {
		Status    string          `json:"status"`
		StatusMsg string          `json:"status-msg"`
		Progress  int             `json:"progress"`
		Downloads json.RawMessage `json:"downloads"`
		Log       string          `json:"log"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		restError(w, http.StatusBadRequest, "bad progress: "+err.Error())
		return
	}
	st := d.steps[rev]
	st.progress = map[string]any{"status": p.Status, "status-msg": p.StatusMsg, "progress": p.Progress,
		"log": p.Log, "downloads": rawOr(p.Downloads, `{"objects":null,"total":{}}`)}
	if p.Data != nil {
		st.progress["data"] = p.Data
	}
	st.history = append(st.history, ProgressPut{Time: time.Now(), Status: p.Status, StatusMsg: p.StatusMsg,
		Progress: p.Progress, Body: append([]byte(nil), body...)})
	writeJSON(w, http.StatusOK, st.progress)
}

func rawOr(b json.RawMessage, def string) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return json.RawMessage(def)
	}
	return b
}

// postLogs stores a single fragment or an array of them.
func (h *Hub) postLogs(w http.ResponseWriter, r *http.Request, body []byte) {
	s, ok := h.authOwned(w, r)
	if !ok {
		return
	}
	var list []map[string]any
	if err := json.Unmarshal(body, &list); err != nil {
		var one map[string]any
		if err := json.Unmarshal(body, &one); err != nil || one == nil {
			restError(w, http.StatusBadRequest, "logs must be a JSON object or array")
			return
		}
		list = []map[string]any{one}
	}
	d := h.st.devices[s.id]
	for _, m := range list {
		e := LogEntry{Tsec: num(m["tsec"]), Tnano: num(m["tnano"]), Lvl: text(m["lvl"]), Src: text(m["src"]),
			Plat: text(m["plat"]), Rev: text(m["rev"]), Msg: text(m["msg"])}
		if e.Lvl == "" {
			e.Lvl = "INFO"
		}
		d.logs = append(d.logs, e)
	}
	writeJSON(w, http.StatusOK, statusOK)
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}
