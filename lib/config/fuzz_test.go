package config

import (
	"strings"
	"testing"
)

// FuzzParse checks the key=value parser: keys and values come back trimmed,
// a key has no '=' and never starts a comment, line numbers grow, and
// writing the pairs back out parses to the same pairs. Loading the input
// must never panic.
func FuzzParse(f *testing.F) {
	f.Add("PV_LOG_LEVEL=4\n# c\n\nlog.level = 5\r\nbad\n=x\nPV_SYSCTL_KERNEL_CORE_PATTERN=|/lib/pv/pvcrash --skip\n")
	f.Add("PV_LOG_DIR_MAXSIZE=10%\nPV_WDT_TIMEOUT=1d\nPV_LOG_SERVER_OUTPUTS=stdout,,filetree\nsysctl.a..b=1")
	f.Add("\xff=\x00\n \t=\t \nK==\n")
	f.Fuzz(func(t *testing.T, in string) {
		pairs, err := parse(strings.NewReader(in))
		if err != nil {
			return
		}
		var out strings.Builder
		last := 0
		for _, p := range pairs {
			if p.line <= last {
				t.Fatalf("line %d after %d", p.line, last)
			}
			last = p.line
			if !p.ok {
				continue
			}
			if p.key == "" || p.key != strings.TrimSpace(p.key) || p.value != strings.TrimSpace(p.value) ||
				strings.Contains(p.key, "=") || p.key[0] == '#' || strings.ContainsAny(p.key+p.value, "\n") {
				t.Fatalf("bad pair %q=%q", p.key, p.value)
			}
			out.WriteString(p.key + "=" + p.value + "\n")
		}
		again, err := parse(strings.NewReader(out.String()))
		if err != nil {
			t.Fatal(err)
		}
		var ok []pair
		for _, p := range pairs {
			if p.ok {
				ok = append(ok, p)
			}
		}
		if len(again) != len(ok) {
			t.Fatalf("round trip: %d pairs, want %d", len(again), len(ok))
		}
		for i := range again {
			if again[i].key != ok[i].key || again[i].value != ok[i].value || !again[i].ok {
				t.Fatalf("round trip: %q=%q, want %q=%q", again[i].key, again[i].value, ok[i].key, ok[i].value)
			}
		}
		c := newFake()
		for l := LevelDefault; l <= numLevels; l++ {
			if _, err := c.Load(l, strings.NewReader(in)); err != nil {
				t.Fatal(err)
			}
		}
		var w strings.Builder
		if _, err := c.WriteTo(&w); err != nil {
			t.Fatal(err)
		}
	})
}
