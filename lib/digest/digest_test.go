package digest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNew: New is SHA-256 (the FIPS 180-2 example) of Size bytes.
func TestNew(t *testing.T) {
	abc := New()
	abc.Write([]byte("abc"))
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hexOf(abc.Sum(nil)), "FIPS 180-2 example")
	assert.Equal(t, Size, abc.Size())
	assert.Equal(t, 64, abc.BlockSize())
}

func hexOf(b []byte) string {
	const h = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, h[c>>4], h[c&0xf])
	}
	return string(out)
}
