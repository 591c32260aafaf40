package ctrl

import (
	"strconv"
	"strings"

	"pantavisor/lib/config"
	"pantavisor/lib/http1"
	"pantavisor/lib/rawjson"
)

// buildinfo answers GET /buildinfo: the build manifest as text/plain,
// possibly empty.
func (s *Server) buildinfo(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	w.Send(200, "text/plain", s.BuildInfo)
}

func defaultConfig() *config.Config { return config.New() }

func (s *Server) cfg() *config.Config {
	if s.Config == nil {
		return defaultConfig()
	}
	return s.Config
}

// config answers GET /config: every key that has a legacy alias, by the
// alias, with a typed value as upstream: booleans, numbers for INT,
// DURATION (seconds), SIZE (bytes or percent), ENUM (the choice's index)
// and LIST (a mask, bit i for choice i), strings otherwise. Secrets are
// not masked, as upstream (the caller is mgmt, which reads them anyway).
func (s *Server) config(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	c := s.cfg()
	b := []byte{'{'}
	n := 0
	for i, k := range config.Keys() {
		if k.Alias == "" {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = rawjson.AppendString(b, k.Alias)
		b = append(b, ':')
		b = appendTyped(b, c.Get(config.Key(i)), k)
	}
	sendJSON(w, append(b, '}'))
}

func appendTyped(b []byte, v config.Value, k config.Spec) []byte {
	switch k.Type {
	case config.TypeBool:
		return strconv.AppendBool(b, v.Bool())
	case config.TypeInt, config.TypeDuration, config.TypeSize:
		return strconv.AppendInt(b, int64(v.Int()), 10)
	case config.TypeEnum:
		return strconv.AppendInt(b, int64(choiceIndex(k.Choices, v.String())), 10)
	case config.TypeList:
		mask := 0
		for _, w := range strings.Split(v.String(), ",") {
			if i := choiceIndex(k.Choices, w); i >= 0 {
				mask |= 1 << i
			}
		}
		return strconv.AppendInt(b, int64(mask), 10)
	}
	return rawjson.AppendString(b, v.String())
}

// choiceIndex returns the position of word in the comma-separated
// choices, -1 if absent.
func choiceIndex(choices, word string) int {
	for i := 0; choices != ""; i++ {
		var c string
		c, choices, _ = strings.Cut(choices, ",")
		if c == word {
			return i
		}
	}
	return -1
}

// config2 answers GET /config2: every key by name with its canonical
// value as a string and the level that set it.
func (s *Server) config2(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	c := s.cfg()
	b := []byte{'['}
	for i, k := range config.Keys() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		v := c.Get(config.Key(i))
		b = rawjson.AppendString(b, k.Name)
		b = append(b, `,"value":`...)
		b = rawjson.AppendString(b, v.String())
		b = append(b, `,"modified":`...)
		b = rawjson.AppendString(b, v.Level().String())
		b = append(b, '}')
	}
	sendJSON(w, append(b, ']'))
}

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

// daemons answers GET /daemons: this build runs no daemon (no hwrngd,
// pv-xconnect or dbus), so the list is empty.
func (s *Server) daemons(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	sendJSON(w, []byte("[]"))
}

// controlDaemon answers PUT /daemons/{name}: no daemon exists.
func (s *Server) controlDaemon(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	sendError(w, 404, "Daemon not found")
}

// xconnectGraph answers GET /xconnect-graph as a build without xconnect.
func (s *Server) xconnectGraph(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	sendError(w, 404, "xconnect not enabled at build time")
}

// wakelocksJSON is GET /wakelocks with power management disabled.
const wakelocksJSON = `{"mode":"disabled","count":0,"degraded":false,"autosleep":false,"settling":false,` +
	`"polling":false,"run_window":false,"held":{"boot":false,"update":false,"update_check":false,` +
	`"devmeta":false,"usrmeta":false,"shutdown":false,"debug_shell":false,"poll":false}}`

// wakelocks answers GET /wakelocks: this build has no power management.
func (s *Server) wakelocks(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	sendJSON(w, []byte(wakelocksJSON))
}
