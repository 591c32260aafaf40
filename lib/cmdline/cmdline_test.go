package cmdline

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	c := Parse(`console=ttyS0 quiet pv_test=poweroff msg="a b" pv_test=x` + "\n")
	assert.Equal(t, Cmdline{{"console", "ttyS0", true}, {"quiet", "", false}, {"pv_test", "poweroff", true}, {"msg", "a b", true}, {"pv_test", "x", true}}, c)
	v, ok := c.Get("pv_test")
	assert.True(t, ok)
	assert.Equal(t, "x", v, "the last word wins")
	_, ok = c.Get("absent")
	assert.False(t, ok)
	assert.Empty(t, Parse("  \n"))
}

func FuzzParse(f *testing.F) {
	f.Add(`a=b "c d" e="f g"`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range Parse(s) {
			if strings.Contains(p.Key+p.Value, `"`) {
				t.Fatalf("quotes survive in %q=%q", p.Key, p.Value)
			}
		}
	})
}
