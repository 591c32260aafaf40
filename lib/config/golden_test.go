package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var typeNames = [...]string{"STRING", "BOOL", "INT", "DURATION", "SIZE", "ENUM", "LIST"}

// maskString names the levels of m with upstream's group names where the
// whole group is present.
func maskString(m Mask) string {
	var out []string
	for _, g := range []struct {
		name string
		m    Mask
	}{{"PV", pv}, {"PH", ph}, {"OEM", oem}, {"RUN", run}, {"ARGS", args}, {"PH_CLIENT", client}} {
		if m&g.m == g.m {
			out = append(out, g.name)
			m &^= g.m
		}
	}
	if m != 0 {
		out = append(out, fmt.Sprintf("%#x", uint16(m)))
	}
	return strings.Join(out, ",")
}

// TestGolden prints the key table (type, levels, alias, secrecy, default,
// choices) and the table a fresh Config writes, and compares them with
// testdata/keys.golden. Run with -update after a deliberate change.
func TestGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Key table: name type levels alias secret default choices\n")
	for _, k := range Keys() {
		secret := "-"
		if k.Secret {
			secret = "secret"
		}
		alias := k.Alias
		if alias == "" {
			alias = "-"
		}
		fmt.Fprintf(&b, "%s %s %s %s %s %q %q\n", k.Name, typeNames[k.Type], maskString(k.Levels), alias, secret, k.Default, k.Choices)
	}
	b.WriteString("\n# New().WriteTo: name, level, value\n")
	_, err := New().WriteTo(&b)
	require.NoError(t, err)

	golden := filepath.Join("testdata", "keys.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestGolden -update")
	assert.Equal(t, string(want), b.String())
}
