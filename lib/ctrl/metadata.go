package ctrl

import (
	"errors"
	"strings"

	"pantavisor/lib/http1"
	"pantavisor/lib/meta"
)

// metaRoute names the texts of one metadata store's answers.
type metaRoute struct {
	list, put, missing string
}

var (
	userMetaRoute = metaRoute{"couldn't get user-meta", "Cannot add or update user meta", "User meta does not exist"}
	devMetaRoute  = metaRoute{"couldn't get device-meta", "Cannot add or update device meta", "Device meta does not exist"}
)

// msgReadOnlyMeta answers 403 to a PUT or DELETE of a device-meta key
// Pantavisor publishes (meta.Published). Upstream lets clients overwrite
// them; here they are read-only, in upstream's error shape.
const msgReadOnlyMeta = "Device meta key is managed by Pantavisor and cannot be changed via API"

func (s *Server) listUserMeta(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	s.listMeta(w, s.UsrMeta, userMetaRoute)
}

func (s *Server) putUserMeta(w *http1.Response, r *http1.Request, _ *Caller, _ []string) {
	s.putMeta(w, r, s.UsrMeta, userMetaRoute)
}

func (s *Server) deleteUserMeta(w *http1.Response, r *http1.Request, _ *Caller, _ []string) {
	s.deleteMeta(w, r, s.UsrMeta, userMetaRoute)
}

func (s *Server) listDevMeta(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	s.listMeta(w, s.DevMeta, devMetaRoute)
}

func (s *Server) putDevMeta(w *http1.Response, r *http1.Request, _ *Caller, _ []string) {
	s.putMeta(w, r, s.DevMeta, devMetaRoute)
}

func (s *Server) deleteDevMeta(w *http1.Response, r *http1.Request, _ *Caller, _ []string) {
	s.deleteMeta(w, r, s.DevMeta, devMetaRoute)
}

// listMeta answers GET /user-meta and /device-meta: a flat object, object
// and array values inlined raw (meta.AppendJSON). Entries that cannot be
// read are left out and logged; a store that cannot be listed at all is
// a 500.
func (s *Server) listMeta(w *http1.Response, st *meta.Store, t metaRoute) {
	if st == nil {
		sendError(w, 500, t.list)
		return
	}
	entries, err := st.List()
	if err != nil {
		s.logf(err.Error())
		if len(entries) == 0 {
			sendError(w, 500, t.list)
			return
		}
	}
	sendJSON(w, meta.AppendJSON(nil, entries))
}

// metaKey is upstream's key of a metadata request: the text after the
// last '/' of the raw target (a query is part of it).
func metaKey(target string) string {
	return target[strings.LastIndexByte(target, '/')+1:]
}

// putMeta answers PUT /<kind>/{key}: the raw body is the value. It needs
// a Content-Length of at least 1 and at most maxMetaBody (507 above).
// The store writes the views and runs its OnChange hook (for user-meta,
// the device's config override); a key Pantavisor publishes is 403.
func (s *Server) putMeta(w *http1.Response, r *http1.Request, st *meta.Store, t metaRoute) {
	if r.ContentLength <= 0 {
		sendError(w, 400, t.put)
		return
	}
	body, err := readBody(r, maxMetaBody)
	if err != nil {
		sendBodyError(w, err, t.put)
		return
	}
	if st == nil {
		sendError(w, 500, t.put)
		return
	}
	if err := st.ClientSet(metaKey(r.Target), string(body)); err != nil {
		s.logf(err.Error())
		if errors.Is(err, meta.ErrReadOnly) {
			sendError(w, 403, msgReadOnlyMeta)
			return
		}
		sendError(w, 500, t.put)
		return
	}
	sendOK(w)
}

// deleteMeta answers DELETE /<kind>/{key}; a key Pantavisor publishes
// is 403, any other failure (missing or invalid key) upstream's 404.
func (s *Server) deleteMeta(w *http1.Response, r *http1.Request, st *meta.Store, t metaRoute) {
	if st == nil {
		sendError(w, 404, t.missing)
		return
	}
	if err := st.ClientDelete(metaKey(r.Target)); err != nil {
		s.logf(err.Error())
		if errors.Is(err, meta.ErrReadOnly) {
			sendError(w, 403, msgReadOnlyMeta)
			return
		}
		sendError(w, 404, t.missing)
		return
	}
	sendOK(w)
}
