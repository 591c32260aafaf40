package storage

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCheckLocalName is the one local-name rule, one row per reason; lib/pvtx
// and lib/ctrl test that they apply it too.
func TestCheckLocalName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"x", true},
		{"pvtx-1700000000-abcd0123-42", true},
		{"a.b", true},
		{"é", true},
		{strings.Repeat("n", MaxLocalName), true},
		{"", false},
		{strings.Repeat("n", MaxLocalName+1), false},
		{".", false},
		{"..", false},
		{".x", false},
		{".new.x", false},
		{"a/b", false},
		{"a\\b", false},
		{"\\", false},
		{"a%2e", false},
		{"a?b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7f", false},
	} {
		err := CheckLocalName(tc.name)
		if tc.ok {
			assert.NoError(t, err, "%q", tc.name)
			assert.NoError(t, CheckRevision("locals/"+tc.name), "%q", tc.name)
			continue
		}
		assert.ErrorIs(t, err, ErrBadRevision, "%q", tc.name)
		assert.ErrorContains(t, err, "1 to 64 characters", "%q", tc.name)
		assert.ErrorIs(t, CheckRevision("locals/"+tc.name), ErrBadRevision, "%q", tc.name)
	}
}
