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
