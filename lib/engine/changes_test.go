package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// ctrKeys are the keys of container name: its config object (sha) and a
// run.json with extra fields.
func ctrKeys(name, sha, extra string) string {
	return `"` + name + `/lxc.container.conf":"` + sha + `","` + name + `/run.json":{"name":"` + name +
		`","type":"lxc","config":"lxc.container.conf"` + extra + `}`
}

// stateOf parses a state made of the given top-level members.
func stateOf(t *testing.T, members ...string) *state.State {
	t.Helper()
	data := `{"#spec":"pantavisor-service-system@1",` + strings.Join(members, ",") + `}`
	st, err := state.Parse([]byte(data), state.Options{})
	require.NoError(t, err, data)
	return st
}

func TestChanges(t *testing.T) {
	var (
		run  = `"bsp/run.json":{"fit":"pv.fit"}`
		bsp  = `"bsp/pv.fit":"` + shaA + `"`
		os   = ctrKeys("os", shaA, `,"group":"root"`)
		app  = ctrKeys("app", shaA, `,"group":"app"`)
		web  = ctrKeys("web", shaA, `,"group":"app"`)
		base = []string{run, bsp, os, app, web}
	)
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	for _, tc := range []struct {
		name      string
		cur, next []string
		changed   []string
		reason    string // "" : no reboot
	}{
		{"identical", base, base, nil, ""},
		{"bsp object", base, []string{run, `"bsp/pv.fit":"` + shaB + `"`, os, app, web}, nil,
			"bsp/pv.fit changed and belongs to the system"},
		{"bsp run.json (its raw text counts)", base, []string{`"bsp/run.json": {"fit": "pv.fit"}`, bsp, os, app, web}, nil,
			"bsp/run.json changed and belongs to the system"},
		{"device.json added", base, with(`"device.json":{"groups":[{"name":"root"},{"name":"app","restart_policy":"container"}]}`), nil,
			"device.json changed and belongs to the system"},
		{"root-level file", base, with(`"notes.txt":"` + shaB + `"`), nil, "notes.txt changed and belongs to the system"},
		{"config of an unknown container", base, with(`"_config/ghost/etc/x":"` + shaB + `"`), nil,
			"_config/ghost/etc/x changed and belongs to the system"},
		{"system container object", base, []string{run, bsp, ctrKeys("os", shaB, `,"group":"root"`), app, web}, nil,
			`os/lxc.container.conf changed and container os has restart_policy "system"`},
		{"becomes system in next", base, []string{run, bsp, os, ctrKeys("app", shaA, `,"group":"app","restart_policy":"system"`), web}, nil,
			`app/run.json changed and container app has restart_policy "system"`},
		{"was system in cur", []string{run, bsp, os, ctrKeys("app", shaA, `,"group":"app","restart_policy":"system"`), web}, base, nil,
			`app/run.json changed and container app has restart_policy "system"`},
		{"removed system container", base, []string{run, bsp, app, web}, nil,
			`os/lxc.container.conf changed and container os has restart_policy "system"`},
		{"container object", base, []string{run, bsp, os, ctrKeys("app", shaB, `,"group":"app"`), web}, []string{"app"}, ""},
		{"container run.json", base, []string{run, bsp, os, app, ctrKeys("web", shaA, `,"group":"app","roles":[]`)}, []string{"web"}, ""},
		{"container config overlay", base, with(`"_config/web/etc/x":"` + shaB + `"`), []string{"web"}, ""},
		{"added container", base, with(ctrKeys("new", shaB, `,"group":"app"`)), []string{"new"}, ""},
		{"removed container", base, []string{run, bsp, os, web}, []string{"app"}, ""},
		{"next's order, then removed ones", base,
			[]string{run, bsp, os, ctrKeys("new", shaB, `,"group":"app"`), ctrKeys("web", shaB, `,"group":"app"`)},
			[]string{"new", "web", "app"}, ""},
		{"signatures, src.json and build.json are invisible", base,
			with(`"_sigs/app.json":{"protected":"x"}`, `"app/src.json":{"a":1}`, `"os/build.json":{"b":2}`), nil, ""},
		{"first key forcing the reboot is named", base,
			[]string{run, bsp, ctrKeys("os", shaB, `,"group":"root"`), ctrKeys("app", shaB, `,"group":"app"`), web, `"z.txt":"` + shaA + `"`}, nil,
			`os/lxc.container.conf changed and container os has restart_policy "system"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, next := stateOf(t, tc.cur...), stateOf(t, tc.next...)
			reboot, changed, reason := Changes(cur, next)
			assert.Equal(t, tc.reason != "", reboot)
			assert.Equal(t, tc.changed, changed)
			assert.Equal(t, tc.reason, reason)
		})
	}
}
