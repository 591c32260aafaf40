package ctrl

import (
	"slices"

	"pantavisor/lib/drivers"
	"pantavisor/lib/http1"
)

// The drivers routes act on the caller's own container and, for loads and
// unloads, on its MANUAL aliases only (upstream ctrl_drivers_ep.c). With
// no Drivers manager (driver management off) every status is UNKNOWN,
// loads fail and unloads do nothing.

// drivers answers GET /drivers: the caller's own drivers (required,
// optional, then manual) with their load state, {} for _pv_ or a
// container without any.
func (s *Server) drivers(w *http1.Response, _ *http1.Request, c *Caller, _ []string) {
	st, _ := s.revision()
	sc := stateContainer(st, c.Name)
	if c.Name == pvName || sc == nil {
		sendJSON(w, []byte("{}"))
		return
	}
	sendJSON(w, drivers.AppendJSON(nil, s.Drivers.List(sc.Drivers)))
}

// manualDrivers returns the MANUAL drivers of the caller (none for _pv_).
func (s *Server) manualDrivers(c *Caller) []string {
	st, _ := s.revision()
	if sc := stateContainer(st, c.Name); sc != nil && c.Name != pvName {
		return sc.Drivers.Manual
	}
	return nil
}

// loadDrivers answers PUT /drivers/load: every MANUAL driver of the
// caller, stopping at the first failure (400, as upstream); with none
// there is nothing to do (200).
func (s *Server) loadDrivers(w *http1.Response, _ *http1.Request, c *Caller, _ []string) {
	for _, a := range s.manualDrivers(c) {
		if err := s.loadDriverOf(c, a); err != nil {
			sendError(w, 400, "Error loading drivers")
			return
		}
	}
	sendOK(w)
}

// unloadDrivers answers PUT /drivers/unload: every MANUAL driver of the
// caller, failures logged; always 200 (upstream has no error case).
func (s *Server) unloadDrivers(w *http1.Response, _ *http1.Request, c *Caller, _ []string) {
	for _, a := range s.manualDrivers(c) {
		s.unloadDriverOf(c, a)
	}
	sendOK(w)
}

// driverName is the {name} of /drivers/{name}/load|unload; upstream takes
// "load" and "unload" there for no name.
func driverName(args []string) string {
	if args[0] == "load" || args[0] == "unload" {
		return ""
	}
	return args[0]
}

// loadDriver answers PUT /drivers/{name}/load. A name that is not one of
// the caller's MANUAL drivers fails (400 "Error loading driver"), where
// upstream answers 200 and loads nothing.
func (s *Server) loadDriver(w *http1.Response, _ *http1.Request, c *Caller, args []string) {
	name := driverName(args)
	if name == "" {
		sendError(w, 400, "No driver name")
		return
	}
	if !slices.Contains(s.manualDrivers(c), name) {
		s.logf("driver " + name + " is not a manual driver of " + c.Name)
		sendError(w, 400, "Error loading driver")
		return
	}
	if err := s.loadDriverOf(c, name); err != nil {
		sendError(w, 400, "Error loading driver")
		return
	}
	sendOK(w)
}

// unloadDriver answers PUT /drivers/{name}/unload: 200 whatever happens,
// as upstream (a name that is not a MANUAL driver of the caller is left
// alone, a failure is logged).
func (s *Server) unloadDriver(w *http1.Response, _ *http1.Request, c *Caller, args []string) {
	name := driverName(args)
	if name == "" {
		sendError(w, 400, "No driver name")
		return
	}
	if slices.Contains(s.manualDrivers(c), name) {
		s.unloadDriverOf(c, name)
	}
	sendOK(w)
}

// loadDriverOf loads alias for the caller, logging a failure.
func (s *Server) loadDriverOf(c *Caller, alias string) error {
	if s.Drivers == nil {
		s.logf("driver " + alias + ": driver management is off")
		return errNoDrivers
	}
	err := s.Drivers.Load(c.Name, alias)
	if err != nil {
		s.logf(c.Name + ": manual " + err.Error())
	}
	return err
}

// unloadDriverOf unloads alias for the caller, logging a failure.
func (s *Server) unloadDriverOf(c *Caller, alias string) {
	if s.Drivers == nil {
		return
	}
	if err := s.Drivers.Unload(c.Name, alias); err != nil {
		s.logf(c.Name + ": manual " + err.Error())
	}
}
