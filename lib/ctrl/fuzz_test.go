package ctrl

import (
	"strings"
	"testing"
)

func FuzzCommand(f *testing.F) {
	for _, s := range []string{`{"op":"LOCAL_RUN","payload":"locals/x"}`, `{"op":"","payload":""}`,
		`{"op":"R","payload":"\u0000"}`, `{"op":"RUN_GC"}`, `[]`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, ok := parseCommand(body)
		if !ok {
			return
		}
		for _, o := range ops {
			if cmd.Op == o {
				return
			}
		}
		t.Fatalf("parseCommand(%q) gave unknown op %q", body, cmd.Op)
	})
}

func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/containers", "/containers/x", "//user-meta//a", "/steps/locals/x/progress",
		"/a/b/c/d/e/f/g/h/i/j/k/l", "/{}/{}", "/containers?x=/y", "?", ""} {
		f.Add("GET", s)
		f.Add("PUT", s)
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		m := lookup(method, target)
		if !m.found {
			if m.r != nil || len(m.args) != 0 {
				t.Fatalf("lookup(%q, %q): route without endpoint", method, target)
			}
			return
		}
		if len(splitPath(target, nil)) > maxSegments {
			t.Fatalf("more than %d segments", maxSegments)
		}
		if m.r != nil {
			if m.r.method != method {
				t.Fatalf("lookup(%q, %q) = %s %s", method, target, m.r.method, m.r.path)
			}
			if n := strings.Count(m.r.path, "{}"); n != len(m.args) {
				t.Fatalf("lookup(%q, %q): %d args for %s", method, target, len(m.args), m.r.path)
			}
		}
	})
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		method, target string
		path           string // "" with found: wrong method
		found, tmpl    bool
		args           []string
	}{
		{"GET", "/containers", "/containers", true, false, nil},
		{"GET", "/containers?all=1", "/containers", true, false, nil},
		{"GET", "/containers/", "", false, false, nil},
		{"GET", "//containers", "", false, false, nil},
		{"POST", "/containers", "", true, false, nil},
		{"PUT", "/containers/a", "/containers/{}", true, true, []string{"a"}},
		{"PUT", "//containers//a/", "/containers/{}", true, true, []string{"a"}},
		{"PUT", "/containers/a?x", "/containers/{}", true, true, []string{"a?x"}},
		{"PUT", "/containers?x=/y", "", true, false, nil}, // "containers?x=" is no template segment
		{"PUT", "/containers/a/b", "", false, false, nil},
		{"GET", "/containers/a", "", true, true, []string{"a"}},
		{"PUT", "/{}/b", "/containers/{}", true, true, []string{"b"}},
		{"DELETE", "/user-meta/k", "/user-meta/{}", true, true, []string{"k"}},
		{"PUT", "/drivers/load", "/drivers/load", true, false, nil},
		{"PUT", "/drivers/x/load", "/drivers/{}/load", true, true, []string{"x"}},
		{"PUT", "/drivers/x/unload", "/drivers/{}/unload", true, true, []string{"x"}},
		{"PUT", "/drivers/x/other", "", false, false, nil},
		{"PUT", "/daemons/d", "/daemons/{}", true, true, []string{"d"}},
		{"GET", "/config2", "/config2", true, false, nil},
		{"GET", "/a/b/c/d/e/f/g/h/i/j/k", "", false, false, nil},
	} {
		m := lookup(c.method, c.target)
		name := c.method + " " + c.target
		if m.found != c.found || m.template != c.tmpl {
			t.Errorf("%s: found %v template %v, want %v %v", name, m.found, m.template, c.found, c.tmpl)
			continue
		}
		got := ""
		if m.r != nil {
			got = m.r.path
		}
		if got != c.path || strings.Join(m.args, ",") != strings.Join(c.args, ",") {
			t.Errorf("%s: %q %q, want %q %q", name, got, m.args, c.path, c.args)
		}
	}
	if got := splitPath("/a/b/c/d/e/f/g/h/i/j/k/l", nil); len(got) != maxSegments || got[9] != "j" {
		t.Errorf("splitPath keeps %q", got)
	}
}
