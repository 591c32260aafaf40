package ctrl

import (
	"pantavisor/lib/http1"
	"pantavisor/lib/rawjson"
)

// drivers answers GET /drivers: the caller's own drivers (required,
// optional, then manual), {} for _pv_ or a container without any. This
// build does not load drivers for containers, so every status is UNKNOWN.
func (s *Server) drivers(w *http1.Response, _ *http1.Request, c *Caller, _ []string) {
	st, _ := s.revision()
	sc := stateContainer(st, c.Name)
	if c.Name == pvName || sc == nil {
		sendJSON(w, []byte("{}"))
		return
	}
	d := sc.Drivers
	b := []byte{'['}
	n := 0
	for _, list := range [...]struct {
		kind  string
		names []string
	}{{"REQUIRED", d.Required}, {"OPTIONAL", d.Optional}, {"MANUAL", d.Manual}} {
		for _, name := range list.names {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"name":`...)
			b = rawjson.AppendString(b, name)
			b = append(b, `,"type":`...)
			b = rawjson.AppendString(b, list.kind)
			b = append(b, `,"status":"UNKNOWN"}`...)
		}
	}
	if n == 0 {
		sendJSON(w, []byte("{}"))
		return
	}
	sendJSON(w, append(b, ']'))
}

// manualDrivers returns the MANUAL drivers of the caller (none for _pv_).
func (s *Server) manualDrivers(c *Caller) []string {
	st, _ := s.revision()
	if sc := stateContainer(st, c.Name); sc != nil && c.Name != pvName {
		return sc.Drivers.Manual
	}
	return nil
}

// loadDrivers answers PUT /drivers/load. Loading is not supported by this
// build: with no MANUAL driver there is nothing to do (200, as upstream),
// otherwise upstream's load failure.
func (s *Server) loadDrivers(w *http1.Response, _ *http1.Request, c *Caller, _ []string) {
	if len(s.manualDrivers(c)) > 0 {
		sendError(w, 400, "Error loading drivers")
		return
	}
	sendOK(w)
}

// unloadDrivers answers PUT /drivers/unload: nothing is loaded, so 200
// (upstream has no error case).
func (s *Server) unloadDrivers(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	sendOK(w)
}

// loadDriver answers PUT /drivers/{name}/load: upstream's load failure,
// since this build loads no driver (an unknown name fails upstream too).
func (s *Server) loadDriver(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if args[0] == "" {
		sendError(w, 400, "No driver name")
		return
	}
	sendError(w, 400, "Error loading driver")
}

// unloadDriver answers PUT /drivers/{name}/unload: nothing is loaded, 200.
func (s *Server) unloadDriver(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if args[0] == "" {
		sendError(w, 400, "No driver name")
		return
	}
	sendOK(w)
}
