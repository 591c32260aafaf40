// Package hooks runs upstream's system hooks: the executables of a
// directory, in name order, with the hook point and revision in their
// environment, stopping at the first failure.
package hooks

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"pantavisor/lib/printf"
)

// Dir is where upstream keeps system hooks.
const Dir = "/usr/lib/pantavisor/pv/hooks/system.d"

// Hook points (PV_OP).
const (
	SystemStart = "system-start"
	SystemDone  = "system-done"
)

// Env is what a hook is told.
type Env struct {
	Op, Rev, Try, Status string
	Storage              string // /storage: PV_OBJ_STORAGE and PV_TRAILS_STORAGE derive from it
}

// Result is one hook's run: its path and combined output.
type Result struct {
	Path   string
	Output []byte
}

// Run runs every regular, owner-executable file of dir in name order and
// stops at the first that fails. A missing dir runs nothing. It returns
// what ran, for the log.
func Run(dir string, e Env) ([]Result, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, en := range entries {
		names = append(names, en.Name())
	}
	sort.Strings(names)
	var out []Result
	for _, n := range names {
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o100 == 0 {
			continue
		}
		var buf bytes.Buffer
		cmd := exec.Command(p)
		cmd.Stdout, cmd.Stderr = &buf, &buf
		cmd.Env = e.environ()
		err = cmd.Run()
		out = append(out, Result{Path: p, Output: buf.Bytes()})
		if err != nil {
			return out, printf.Errorf("hook %s (%s): %w", p, e.Op, err)
		}
	}
	return out, nil
}

func (e *Env) environ() []string {
	try := "false"
	if e.Try != "" && e.Try == e.Rev {
		try = "true"
	}
	storage := e.Storage
	if storage == "" {
		storage = "/storage"
	}
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PV_OP=" + e.Op, "PV_REV=" + e.Rev, "PV_TRY=" + e.Try,
		"PV_TRYBOOT=" + try, "PV_STATUS=" + e.Status, "PV_OBJ_STORAGE=" + storage + "/objects/",
		"PV_TRAILS_STORAGE=" + storage + "/trails/" + e.Rev}
}
