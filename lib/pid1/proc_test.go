package pid1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcField(t *testing.T) {
	status := "Name:\tpantavisor\nVmPeak:\t  2400 kB\nVmRSS:\t    2212 kB\nRssAnon:\t 800 kB\n"
	for field, want := range map[string]string{
		"VmRSS:":  "2212 kB",
		"VmPeak:": "2400 kB",
		"Name:":   "pantavisor",
		"Pss:":    "?",
		"VmRSS":   ":\t    2212 kB", // the caller names the colon
	} {
		assert.Equal(t, want, procField(strings.NewReader(status), field), field)
	}
	assert.Equal(t, "?", procField(strings.NewReader(""), "VmRSS:"))

	p := filepath.Join(t.TempDir(), "status")
	require.NoError(t, os.WriteFile(p, []byte(status), 0o644))
	assert.Equal(t, "2212 kB", ProcField(p, "VmRSS:"))
	assert.Equal(t, "?", ProcField(filepath.Join(t.TempDir(), "missing"), "VmRSS:"))
	assert.True(t, strings.HasSuffix(ProcField("/proc/self/status", "VmRSS:"), " kB"), "the real file")
}

func FuzzProcField(f *testing.F) {
	f.Add("VmRSS:\t 1 kB\n", "VmRSS:")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, data, field string) {
		v := procField(strings.NewReader(data), field)
		if v != "?" && (!strings.Contains(data, field) || !strings.Contains(data, v)) {
			t.Fatalf("value %q not from a %q line of %q", v, field, data)
		}
	})
}
