package pantavisor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidateDriversConformance runs validate over every conformance
// state and checks its driver lines against the state read independently
// (encoding/json): the "drivers:" line lists the "all" section's aliases,
// each container naming aliases has its line, and each alias a container
// names that the section does not define gets its warning.
func TestValidateDriversConformance(t *testing.T) {
	files, err := filepath.Glob(conformance + "pvtx/*/*.json")
	require.NoError(t, err)
	seen := 0
	for _, f := range append(files, conformance+"state.rev0.json") {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var st map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(data, &st), f)
		var bsp struct {
			All map[string]json.RawMessage `json:"all"`
		}
		if raw, ok := st["bsp/drivers.json"]; ok {
			require.NoError(t, json.Unmarshal(raw, &bsp), f)
			seen++
		}
		var wantLines, wantWarn []string
		if len(bsp.All) == 0 {
			wantLines = append(wantLines, "drivers: none")
		} else {
			var names []string
			for n := range bsp.All {
				names = append(names, n)
			}
			sort.Strings(names) // the conformance files list aliases sorted
			wantLines = append(wantLines, "drivers: "+strings.Join(names, " "))
		}
		for key, raw := range st {
			name, ok := strings.CutSuffix(key, "/run.json")
			if !ok {
				continue
			}
			var run struct {
				Drivers map[string][]string `json:"drivers"`
			}
			require.NoError(t, json.Unmarshal(raw, &run), f)
			d := run.Drivers
			if len(d["required"])+len(d["optional"])+len(d["manual"]) == 0 {
				continue
			}
			list := func(k string) string {
				if len(d[k]) == 0 {
					return "-"
				}
				return strings.Join(d[k], ",")
			}
			wantLines = append(wantLines, "container "+name+" drivers: required="+list("required")+
				" optional="+list("optional")+" manual="+list("manual"))
			for _, k := range []string{"required", "optional", "manual"} {
				for _, a := range d[k] {
					if _, ok := bsp.All[a]; !ok {
						wantWarn = append(wantWarn, "warning: "+name+"/run.json: drivers."+k+": alias "+a+
							" is not defined in bsp/drivers.json")
					}
				}
			}
		}
		code, out, errs := validateRun(f)
		require.Equal(t, 0, code, "%s: %s", f, errs)
		lines := strings.Split(out, "\n")
		for _, w := range wantLines {
			assert.Contains(t, lines, w, f)
		}
		var gotWarn []string
		for _, l := range lines {
			if strings.Contains(l, "in bsp/drivers.json") {
				gotWarn = append(gotWarn, l)
			}
		}
		assert.ElementsMatch(t, wantWarn, gotWarn, f)
	}
	assert.GreaterOrEqual(t, seen, 4, "the conformance states with bsp/drivers.json")
}

func TestValidateDriversWarnings(t *testing.T) {
	code, out, errs := validateRun(resources + "initial_state.json")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "\ndrivers: bluetooth wifi wireguard\n")
	assert.Contains(t, out, "\ncontainer awconnect drivers: required=- optional=wifi,usbnet,bluetooth manual=-\n")
	assert.Contains(t, out, "\nwarning: awconnect/run.json: drivers.optional: alias usbnet is not defined in bsp/drivers.json\n")
	code, out, _ = validateRun(resources + "bsp_init.json")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "\ndrivers: bluetooth usbncm usbnet wifi wireguard\n")
}
