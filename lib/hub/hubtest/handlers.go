package hubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds a request body the hub reads (object uploads included).
const maxBody = 256 << 20

// serveHTTP records the request, applies DropWhileStatus and routes it.
func (h *Hub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	i := h.record(r, body)
	if err != nil {
		return
	}
	h.mu.Lock()
	drop := h.takeDrop()
	answer, canned := h.faults.answers[r.Method+" "+r.URL.Path]
	h.mu.Unlock()
	if drop {
		dropConn(w)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() { h.setStatus(i, sw.status) }()
	if canned {
		sw.Header().Set("Content-Type", "application/json")
		sw.WriteHeader(answer.code)
		_, _ = sw.Write(answer.body)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] == "local-s3" && len(parts) == 2 && r.Method == http.MethodGet {
		h.download(sw, r, parts[1])
		return
	}
	// The answer is built under the lock and sent after it, so a client
	// that reads slowly never stalls the hub.
	buf := &buffered{header: sw.Header()}
	h.mu.Lock()
	h.route(buf, r, parts, body)
	h.mu.Unlock()
	sw.WriteHeader(buf.code)
	_, _ = sw.Write(buf.body.Bytes())
}

// buffered is a ResponseWriter that keeps the status and body.
type buffered struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *buffered) Header() http.Header { return b.header }

func (b *buffered) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *buffered) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// route dispatches a JSON endpoint; h.mu is held.
func (h *Hub) route(w http.ResponseWriter, r *http.Request, p []string, body []byte) {
	m := r.Method
	switch {
	case p[0] == "auth" && len(p) == 2 && p[1] == "login" && m == http.MethodPost:
		h.login(w, r, body)
	case p[0] == "devices" && len(p) == 1 && m == http.MethodPost:
		h.register(w, r)
	case p[0] == "devices" && len(p) == 2 && m == http.MethodGet:
		h.getDevice(w, r, p[1])
	case p[0] == "devices" && len(p) == 3 && p[2] == "user-meta" && m == http.MethodGet:
		h.getUserMeta(w, r, p[1])
	case p[0] == "devices" && len(p) == 3 && p[2] == "device-meta" && (m == http.MethodPut || m == http.MethodPatch):
		h.putDeviceMeta(w, r, p[1], body)
	case p[0] == "trails" && len(p) == 1 && m == http.MethodGet:
		h.getTrails(w, r)
	case p[0] == "trails" && len(p) == 1 && m == http.MethodPost:
		h.postTrail(w, r, body)
	case p[0] == "trails" && len(p) == 3 && p[2] == "steps" && m == http.MethodGet:
		h.getSteps(w, r, p[1])
	case p[0] == "trails" && len(p) == 5 && p[2] == "steps" && p[4] == "progress" && m == http.MethodPut:
		h.putProgress(w, r, p[1], p[3], body)
	case p[0] == "objects" && len(p) == 1 && m == http.MethodPost:
		h.postObject(w, r, body)
	case p[0] == "objects" && len(p) == 2 && m == http.MethodGet:
		h.getObject(w, r, p[1])
	case p[0] == "local-s3" && len(p) == 2 && m == http.MethodPut:
		h.upload(w, p[1], body)
	case p[0] == "logs" && len(p) == 1 && m == http.MethodPost:
		h.postLogs(w, r, body)
	default:
		restError(w, http.StatusNotFound, "no such endpoint: "+m+" "+r.URL.Path)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b) // a client gone is the client's problem

}

// restError answers pantahub-base's error JSON.
func restError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"error": fmt.Sprintf("REST-ERR-ID-%s", randHex(4)), "msg": msg, "code": code})
}

// notAuthorized is the JWT middleware's answer.
func notAuthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, map[string]string{"Error": "Not Authorized"})
}

var statusOK = map[string]string{"status": "ok"}

// auth checks the bearer token (and Fail401); on failure it has answered
// 401. h.mu is held.
func (h *Hub) auth(w http.ResponseWriter, r *http.Request) (session, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s, known := h.st.tokens[tok]
	if h.take401() || !ok || !known {
		notAuthorized(w)
		return session{}, false
	}
	return s, true
}

// authOwned is auth for an endpoint that needs the token's owner claim
// (objects, trails, logs): a token from before the claim gets 403 "Device
// needs an owner", as pantahub-base answers.
func (h *Hub) authOwned(w http.ResponseWriter, r *http.Request) (session, bool) {
	s, ok := h.auth(w, r)
	if ok && s.owner == "" {
		restError(w, http.StatusForbidden, "Device needs an owner")
		return session{}, false
	}
	return s, ok
}

// authSelf is auth for /devices/<id>/…: the token must be that device's.
func (h *Hub) authSelf(w http.ResponseWriter, r *http.Request, id string) (*device, bool) {
	s, ok := h.auth(w, r)
	if !ok {
		return nil, false
	}
	d := h.st.devices[id]
	if d == nil || s.id != id {
		restError(w, http.StatusForbidden, "not your device")
		return nil, false
	}
	return d, true
}

func needAgent(w http.ResponseWriter, r *http.Request) bool {
	if r.UserAgent() == "" {
		restError(w, http.StatusForbidden, "Incompatible Client; upgrade pantavisor")
		return false
	}
	return true
}

func (h *Hub) login(w http.ResponseWriter, r *http.Request, body []byte) {
	if !needAgent(w, r) {
		return
	}
	var c struct{ Username, Password string }
	if json.Unmarshal(body, &c) != nil {
		notAuthorized(w)
		return
	}
	id, isDev := strings.CutPrefix(c.Username, "prn:::devices:/")
	d := h.st.devices[id]
	if !isDev || d == nil || d.Secret != c.Password {
		notAuthorized(w)
		return
	}
	tok := randHex(24)
	h.st.tokens[tok] = session{prn: d.PRN, id: d.ID, owner: d.Owner}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func (h *Hub) register(w http.ResponseWriter, r *http.Request) {
	if !needAgent(w, r) {
		return
	}
	d := &device{devMeta: map[string]any{}, userMeta: map[string]any{}, steps: map[int]*step{}}
	d.ID = randHex(12)
	d.PRN = "prn:::devices:/" + d.ID
	d.Secret = randLower(15)
	d.Nick = "__unregistered__" + word() + "_" + randLower(10)
	if tok := r.Header.Get("Pantahub-Devices-Auto-Token-V1"); tok != "" {
		if tok != h.st.autoToken || h.st.autoToken == "" {
			restError(w, http.StatusBadRequest, "Error using AutoAuthToken: no such token")
			return
		}
		d.Owner = UserPRN
	} else {
		d.Challenge = word() + "-" + word() + "-" + word()
	}
	h.st.devices[d.ID] = d
	h.st.order = append(h.st.order, d.ID)
	writeJSON(w, http.StatusOK, deviceJSON(d, true))
}

func deviceJSON(d *device, secret bool) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339)
	m := map[string]any{
		"id": d.ID, "prn": d.PRN, "nick": d.Nick, "owner": d.Owner, "challenge": d.Challenge,
		"time-created": now, "time-modified": now, "public": false,
		"user-meta": d.userMeta, "device-meta": d.devMeta, "garbage": false, "mark_public_processed": false,
	}
	if secret {
		m["secret"] = d.Secret
	}
	return m
}

func (h *Hub) getDevice(w http.ResponseWriter, r *http.Request, id string) {
	if d, ok := h.authSelf(w, r, id); ok {
		writeJSON(w, http.StatusOK, deviceJSON(d, false))
	}
}

func (h *Hub) getUserMeta(w http.ResponseWriter, r *http.Request, id string) {
	if d, ok := h.authSelf(w, r, id); ok {
		writeJSON(w, http.StatusOK, d.userMeta)
	}
}

// putDeviceMeta stores device-meta: PUT replaces it, PATCH merges (a null
// value deletes the key).
func (h *Hub) putDeviceMeta(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	d, ok := h.authSelf(w, r, id)
	if !ok {
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		restError(w, http.StatusBadRequest, "device-meta must be a JSON object")
		return
	}
	if r.Method == http.MethodPut {
		d.devMeta = m
	} else {
		for k, v := range m {
			if v == nil {
				delete(d.devMeta, k)
			} else {
				d.devMeta[k] = v
			}
		}
	}
	writeJSON(w, http.StatusOK, statusOK)
}
