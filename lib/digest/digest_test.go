package digest

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallMatchesCrypto: the pure-Go SHA-256 agrees with crypto/sha256
// on every length around the block and padding boundaries, written in
// one piece or in odd chunks, and Sum does not disturb later writes.
func TestSmallMatchesCrypto(t *testing.T) {
	data := make([]byte, 300)
	_, err := rand.Read(data)
	require.NoError(t, err)
	for n := 0; n <= len(data); n++ {
		want := sha256.Sum256(data[:n])
		h := newSmall()
		h.Write(data[:n])
		require.Equal(t, want[:], h.Sum(nil), "length %d in one write", n)
		h.Reset()
		for i := 0; i < n; i += 7 {
			h.Write(data[i:min(i+7, n)])
			h.Sum(nil)
		}
		require.Equal(t, want[:], h.Sum(nil), "length %d in 7-byte writes", n)
	}
	abc := newSmall()
	abc.Write([]byte("abc"))
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hexOf(abc.Sum(nil)), "FIPS 180-2 example")
	assert.Equal(t, Size, abc.Size())
	assert.Equal(t, 64, abc.BlockSize())
	assert.Equal(t, Size, New().Size())
}

func hexOf(b []byte) string {
	const h = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, h[c>>4], h[c&0xf])
	}
	return string(out)
}

func BenchmarkSmall(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	h := newSmall()
	for b.Loop() {
		h.Write(buf)
	}
}
