package hexbytes

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDecode(t *testing.T) {
	for _, s := range []string{"", "00", "0aFf", "deadBEEF", "0", "abc", "0g", "g0", " 0", "zz", "ÿÿ", "-1"} {
		want, err := hex.DecodeString(s)
		got, ok := Decode(s)
		assert.Equal(t, err == nil, ok, s)
		if ok {
			assert.Equal(t, want, got, s)
		}
	}
}

// FuzzDecode holds Decode to encoding/hex for any input.
func FuzzDecode(f *testing.F) {
	f.Add("00ff")
	f.Add("x1")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := hex.DecodeString(s)
		got, ok := Decode(s)
		if (err == nil) != ok || ok && string(want) != string(got) {
			t.Fatalf("Decode(%q) = %x, %v; encoding/hex: %x, %v", s, got, ok, want, err)
		}
	})
}
