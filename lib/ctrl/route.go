package ctrl

import (
	"strings"

	"pantavisor/lib/http1"
)

// route is one entry of the routing table. A path with "{}" segments is a
// template route (matched segment by segment, query included, as upstream
// matches the raw URI); any other path is exact (query ignored, no
// trailing slash). The two kinds differ in some error texts.
type route struct {
	method    string
	path      string
	h         handler
	anyCaller bool // no mgmt role needed (only POST /signal)
}

// routes are this file's routes (the storage routes live in
// storageRoutes). A template path listed twice (one entry per method)
// must have its entries next to each other's; among overlapping
// templates the first listed wins, whatever the method.
var routes = [...]route{
	{"GET", "/containers", (*Server).containers, false},
	{"PUT", "/containers/{}", (*Server).controlContainer, false},
	{"GET", "/groups", (*Server).groups, false},
	{"POST", "/signal", (*Server).signal, true},
	{"POST", "/commands", (*Server).command, false},
	{"GET", "/user-meta", (*Server).listUserMeta, false},
	{"PUT", "/user-meta/{}", (*Server).putUserMeta, false},
	{"DELETE", "/user-meta/{}", (*Server).deleteUserMeta, false},
	{"GET", "/device-meta", (*Server).listDevMeta, false},
	{"PUT", "/device-meta/{}", (*Server).putDevMeta, false},
	{"DELETE", "/device-meta/{}", (*Server).deleteDevMeta, false},
	{"GET", "/buildinfo", (*Server).buildinfo, false},
	{"GET", "/config", (*Server).config, false},
	{"GET", "/config2", (*Server).config2, false},
	{"GET", "/drivers", (*Server).drivers, false},
	{"PUT", "/drivers/load", (*Server).loadDrivers, false},
	{"PUT", "/drivers/unload", (*Server).unloadDrivers, false},
	{"PUT", "/drivers/{}/load", (*Server).loadDriver, false},
	{"PUT", "/drivers/{}/unload", (*Server).unloadDriver, false},
	{"GET", "/daemons", (*Server).daemons, false},
	{"PUT", "/daemons/{}", (*Server).controlDaemon, false},
	{"GET", "/xconnect-graph", (*Server).xconnectGraph, false},
	{"GET", "/wakelocks", (*Server).wakelocks, false},
}

// tables are the routing tables, searched in order: these routes, then
// the storage routes (objects, steps, storage GC) of storageRoutes.
func tables() [][]route {
	return [][]route{
		routes[:],
		storageRoutes[:],
	}
}

// maxSegments is upstream's PV_CTRL_MAX_SPLIT: a URI is split into at
// most this many segments, the rest is ignored.
const maxSegments = 10

// splitPath splits a URI on '/', dropping empty segments, keeping at most
// maxSegments (upstream pv_ctrl_utils_split_path).
func splitPath(uri string, dst []string) []string {
	for len(dst) < maxSegments {
		uri = strings.TrimLeft(uri, "/")
		if uri == "" {
			break
		}
		seg, rest, _ := strings.Cut(uri, "/")
		dst = append(dst, seg)
		uri = rest
	}
	return dst
}

// isTemplate reports whether path has a "{}" segment.
func isTemplate(path string) bool { return strings.Contains(path, "{}") }

// matchTemplate reports whether the segments of a request URI match the
// template path: as many segments, each equal or "{}" on either side (as
// upstream compares), and appends the request's segments at the
// template's "{}" to args.
func matchTemplate(tmpl string, segs []string, args []string) ([]string, bool) {
	var buf [maxSegments]string
	t := splitPath(tmpl, buf[:0])
	if len(t) != len(segs) {
		return args, false
	}
	n := len(args)
	for i, ts := range t {
		if ts != segs[i] && ts != "{}" && segs[i] != "{}" {
			return args[:n], false
		}
		if ts == "{}" {
			args = append(args, segs[i])
		}
	}
	return args, true
}

// match is the outcome of looking a request up.
type match struct {
	r        *route   // the route to run; nil with found: wrong method
	found    bool     // the path names an endpoint
	template bool     // found through a template (its error texts)
	args     []string // the {} segments
}

// lookup finds the route of a request. Template routes come first,
// matched on the raw target: the first template that matches decides the
// endpoint, and its entries decide the method. Exact routes are matched
// on the path without the query.
func lookup(method, target string) match {
	var buf [maxSegments]string
	segs := splitPath(target, buf[:0])
	for _, tab := range tables() {
		for i := range tab {
			if !isTemplate(tab[i].path) {
				continue
			}
			args, ok := matchTemplate(tab[i].path, segs, nil)
			if !ok {
				continue
			}
			return match{r: byMethod(tab, tab[i].path, method), found: true, template: true, args: args}
		}
	}
	path, _, _ := strings.Cut(target, "?")
	for _, tab := range tables() {
		for i := range tab {
			if !isTemplate(tab[i].path) && tab[i].path == path {
				return match{r: byMethod(tab, path, method), found: true}
			}
		}
	}
	return match{}
}

// byMethod returns the entry of tab for path and method, nil if none.
func byMethod(tab []route, path, method string) *route {
	for i := range tab {
		if tab[i].path == path && tab[i].method == method {
			return &tab[i]
		}
	}
	return nil
}

// serve answers one request: route lookup, caller identification, method
// and permission checks (in upstream's order for each kind of route),
// then the route's handler.
func (s *Server) serve(w *http1.Response, r *http1.Request) {
	m := lookup(r.Method, r.Target)
	if !m.found {
		sendError(w, 400, "unknown endpoint: "+r.Target)
		return
	}
	c, ok := s.identify(r.PeerPid)
	if !ok {
		if m.template {
			sendError(w, 500, "Internal error, unknown caller")
		} else {
			sendError(w, 500, "Internal Error")
		}
		return
	}
	if m.r == nil {
		sendError(w, 400, "Method not supported for this endpoint")
		return
	}
	if !m.r.anyCaller && !c.Mgmt {
		if m.template {
			sendError(w, 403, "Request not sent from mgmt platform")
		} else {
			sendError(w, 403, "Request not sent from a mgmt platform")
		}
		return
	}
	m.r.h(s, w, r, c, m.args)
}
