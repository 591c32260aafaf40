package mount

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:      "/a b",
		`/a\011b`:      "/a\tb",
		`/a\012b`:      "/a\nb",
		`/a\134b`:      `/a\b`,
		`\011\012\134`: "\t\n\\",
		`/a\04`:        `/a\04`,
		`/a\999`:       `/a\999`,
		`/a\9999`:      `/a\9999`,
		`/plain`:       "/plain",
		`/end\040`:     "/end ",
		`\040\040x`:    "  x",
	} {
		assert.Equal(t, want, Unescape(in), in)
	}
}
