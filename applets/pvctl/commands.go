package pvctl

import (
	"strings"

	"pantavisor/lib/rawjson"
)

// kind says how run carries out an action.
type kind int

const (
	kindRequest       kind = iota // one request, output contract
	kindObjectGet                 // stream the body out, always exit 0
	kindObjectPut                 // upload a file or stdin as an object
	kindStepPut                   // upload a state json, then -m's commitmsg
	kindStepInstall               // upload a package: objects, step, commitmsg
	kindDaemonRestart             // stop, then start if the stop got 200
)

// Content types curl sends for the script's options.
const (
	ctypeJSON = "application/json"                  // --header "Content-Type: application/json"
	ctypeForm = "application/x-www-form-urlencoded" // --data without a header
	ctypeOcts = "application/octet-stream"          // objects put
)

// action is a parsed command.
type action struct {
	kind    kind
	method  string
	target  string
	ctype   string // "" sends none
	body    string // request body (with hasBody)
	hasBody bool
	path    string // objects put / steps put / steps install: the file
	name    string // daemons restart: the daemon; steps: the revision
}

// helpExit is a parse result that prints a usage text and exits.
type helpExit struct {
	usage string
	code  int
}

// text is the usage with the name the applet was called by.
func (h *helpExit) text(name string) string {
	if name == "" {
		return h.usage
	}
	return strings.ReplaceAll(h.usage, "pvcontrol", name)
}

// help returns the usage u with exit 0 for "--help", else with exit 1.
func help(u, arg string) *helpExit {
	if arg == "--help" {
		return &helpExit{u, exitOK}
	}
	return &helpExit{u, exitUsage}
}

// arg returns a[i], or "" past the end (the shell's unset "$n").
func arg(a []string, i int) string {
	if i < len(a) {
		return a[i]
	}
	return ""
}

func get(target string) action { return action{method: "GET", target: target} }

func jsonReq(method, target, body string) action {
	return action{method: method, target: target, ctype: ctypeJSON, body: body, hasBody: true}
}

// command is POST /commands {"op":op,"payload":payload}, the payload escaped.
func command(op, payload string) action {
	return jsonReq("POST", "/commands", `{"op":"`+op+`","payload":`+rawjson.Quote(payload)+`}`)
}

// lifecycle is PUT <base>/<name> {"action":act}.
func lifecycle(base, name, act string) action {
	return jsonReq("PUT", base+"/"+escape(name), `{"action":"`+act+`"}`)
}

// parseCommand parses the command line after the options, as the
// upstream script's parse_*_args functions do (extra words are ignored).
func parseCommand(a []string) (action, *helpExit) {
	sub := arg(a, 1)
	switch arg(a, 0) {
	case "ls", "list":
		if sub != "" {
			return action{}, help(usageLs, sub)
		}
		return get("/containers"), nil
	case "containers":
		return parseLifecycle(a, "/containers", usageContainers)
	case "groups":
		if sub == "ls" {
			return get("/groups"), nil
		}
		return action{}, help(usageGroups, sub)
	case "signal":
		if sub == "ready" || sub == "alive" {
			return jsonReq("POST", "/signal", `{"type":"`+sub+`","payload":""}`), nil
		}
		return action{}, help(usageSignal, sub)
	case "cmd", "command", "commands":
		return parseCmd(a)
	case "devmeta":
		return parseMeta(a, "/device-meta", usageDevmeta, true)
	case "usrmeta":
		return parseMeta(a, "/user-meta", usageUsrmeta, false)
	case "buildinfo":
		if sub != "" {
			return action{}, help(usageBuildinfo, sub)
		}
		return get("/buildinfo"), nil
	case "storage":
		if sub == "gc" {
			return action{method: "POST", target: "/storage/gc"}, nil
		}
		return action{}, help(usageStorage, sub)
	case "objects":
		return parseObjects(a)
	case "steps":
		return parseSteps(a)
	case "graph":
		return parseList(sub, "/xconnect-graph", usageGraph)
	case "daemons":
		return parseLifecycle(a, "/daemons", usageDaemons)
	case "drivers":
		return parseDrivers(a)
	case "config":
		return parseList(sub, "/config", usageConfig)
	case "configuration", "conf":
		return parseList(sub, "/config2", usageConf)
	}
	return action{}, help(usageMain, arg(a, 0))
}

// parseList parses "<group> ls|list".
func parseList(sub, target, usage string) (action, *helpExit) {
	if sub == "ls" || sub == "list" {
		return get(target), nil
	}
	return action{}, help(usage, sub)
}

// parseDrivers parses "drivers ls|list" and "drivers load|unload [name]".
// Upstream's script has no drivers command (its docs use pvcurl); this
// one keeps the script's "<group> <verb> [name]" form.
func parseDrivers(a []string) (action, *helpExit) {
	sub, name := arg(a, 1), arg(a, 2)
	switch sub {
	case "ls", "list":
		return get("/drivers"), nil
	case "load", "unload":
		if name == "" {
			return action{method: "PUT", target: "/drivers/" + sub}, nil
		}
		return action{method: "PUT", target: "/drivers/" + escape(name) + "/" + sub}, nil
	}
	return action{}, help(usageDrivers, sub)
}

// parseLifecycle parses containers and daemons: ls|list|start|stop|restart.
func parseLifecycle(a []string, base, usage string) (action, *helpExit) {
	sub, name := arg(a, 1), arg(a, 2)
	switch sub {
	case "ls", "list":
		return get(base), nil
	case "start", "stop", "restart":
		if name == "" {
			return action{}, help(usage, "")
		}
		if sub == "restart" && base == "/daemons" {
			return action{kind: kindDaemonRestart, name: name}, nil
		}
		return lifecycle(base, name, sub), nil
	}
	return action{}, help(usage, sub)
}

// parseCmd parses cmd|command|commands and its operations.
func parseCmd(a []string) (action, *helpExit) {
	sub, p := arg(a, 1), arg(a, 2)
	switch sub {
	case "run", "run-commit", "defer-reboot":
		if p == "" {
			return action{}, help(usageCommand, "")
		}
	}
	switch sub {
	case "run":
		return command("LOCAL_RUN", p), nil
	case "run-commit":
		return command("LOCAL_RUN_COMMIT", p), nil
	case "reboot":
		return command("REBOOT_DEVICE", p), nil
	case "poweroff":
		return command("POWEROFF_DEVICE", p), nil
	case "make-factory":
		return command("MAKE_FACTORY", p), nil
	case "run-gc":
		return command("RUN_GC", ""), nil
	case "enable-ssh":
		return command("ENABLE_SSH", ""), nil
	case "disable-ssh":
		return command("DISABLE_SSH", ""), nil
	case "go-remote":
		return command("GO_REMOTE", ""), nil
	case "unclaim":
		return command("UNCLAIM", ""), nil
	case "defer-reboot":
		return command("DEFER_REBOOT", p), nil
	}
	return action{}, help(usageCommand, sub)
}

// parseMeta parses devmeta and usrmeta (upload is devmeta's only).
func parseMeta(a []string, base, usage string, upload bool) (action, *helpExit) {
	sub, key := arg(a, 1), arg(a, 2)
	switch {
	case sub == "save" || (upload && sub == "upload"):
		if key == "" {
			return action{}, help(usage, "")
		}
		return action{method: "PUT", target: base + "/" + escape(key), ctype: ctypeForm,
			body: arg(a, 3), hasBody: true}, nil
	case sub == "delete":
		if key == "" {
			return action{}, help(usage, "")
		}
		return action{method: "DELETE", target: base + "/" + escape(key)}, nil
	case sub == "ls" || sub == "list":
		return get(base), nil
	}
	return action{}, help(usage, sub)
}

// parseObjects parses objects ls|list|get|put.
func parseObjects(a []string) (action, *helpExit) {
	sub, x, y := arg(a, 1), arg(a, 2), arg(a, 3)
	switch sub {
	case "put":
		if x == "" || y == "" || !validSource(x) {
			return action{}, help(usageObjects, "")
		}
		return action{kind: kindObjectPut, path: x, name: y}, nil
	case "get":
		if x == "" {
			return action{}, help(usageObjects, "")
		}
		return action{kind: kindObjectGet, method: "GET", target: "/objects/" + escape(x)}, nil
	case "ls", "list":
		return get("/objects"), nil
	}
	return action{}, help(usageObjects, sub)
}

// validSource accepts a path, "-" (stdin, size unknown) or "-SIZE".
func validSource(p string) bool {
	if len(p) < 2 || p[0] != '-' {
		return true
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseSteps parses steps ls|list|get|show-progress|put|install.
func parseSteps(a []string) (action, *helpExit) {
	sub, x, y := arg(a, 1), arg(a, 2), arg(a, 3)
	switch sub {
	case "install":
		if x == "" {
			return action{}, help(usageSteps, "")
		}
		return action{kind: kindStepInstall, path: x, name: y}, nil
	case "put":
		if x == "" || y == "" {
			return action{}, help(usageSteps, "")
		}
		return action{kind: kindStepPut, path: x, name: y}, nil
	case "get", "show-progress":
		if x == "" {
			return action{}, help(usageSteps, "")
		}
		t := "/steps/" + escape(x)
		if sub == "show-progress" {
			t += "/progress"
		}
		return get(t), nil
	case "ls", "list":
		return get("/steps"), nil
	}
	return action{}, help(usageSteps, sub)
}

// escape percent-encodes the bytes of a name that a request line cannot
// carry (controls, space, non-ASCII); the script passes names to curl as
// they are.
func escape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(b, s[:i]...)
		}
		b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
	}
	if b == nil {
		return s
	}
	return string(b)
}
