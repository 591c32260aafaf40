package pubkey

import (
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModulus holds the Montgomery arithmetic to math/big's for random
// odd moduli from one limb to RSA-4096's 64, the top limb full or short.
func TestModulus(t *testing.T) {
	for _, bitLen := range []int{61, 64, 255, 256, 384, 521, 1024, 2047, 4096} {
		for range 4 {
			m, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bitLen)))
			require.NoError(t, err)
			m.SetBit(m, 0, 1).SetBit(m, bitLen-1, 1)
			mod := newModulus(m.Bytes())
			size := len(m.Bytes())
			a, _ := rand.Int(rand.Reader, m)
			b, _ := rand.Int(rand.Reader, m)
			e, _ := rand.Int(rand.Reader, m)
			an, ok := natFromBytes(a.Bytes(), mod.size())
			require.True(t, ok)
			bn, _ := natFromBytes(b.Bytes(), mod.size())
			en, _ := natFromBytes(e.Bytes(), mod.size())
			am, bm := mod.toMont(an), mod.toMont(bn)
			want := func(x *big.Int) []byte { return x.FillBytes(make([]byte, size)) }
			assert.Equal(t, want(an.big()), mod.fromMont(am).bytes(size), "round trip, %d bits", bitLen)
			assert.Equal(t, want(new(big.Int).Mod(new(big.Int).Mul(a, b), m)), mod.fromMont(mod.mul(am, bm)).bytes(size), "a·b, %d bits", bitLen)
			assert.Equal(t, want(new(big.Int).Mod(new(big.Int).Add(a, b), m)), mod.add(an, bn).bytes(size), "a+b, %d bits", bitLen)
			assert.Equal(t, want(new(big.Int).Mod(new(big.Int).Sub(a, b), m)), mod.sub(an, bn).bytes(size), "a-b, %d bits", bitLen)
			assert.Equal(t, want(new(big.Int).Exp(a, e, m)), mod.fromMont(mod.exp(am, en)).bytes(size), "a^e, %d bits", bitLen)
			assert.Equal(t, want(new(big.Int).Exp(a, big.NewInt(65537), m)), mod.fromMont(mod.exp(am, smallNat(65537, 1))).bytes(size), "a^65537, %d bits", bitLen)
			assert.Equal(t, a.BitLen(), an.bitLen())
			assert.Equal(t, want(new(big.Int).Rsh(a, 7)), an.shiftRight(7).bytes(size))
		}
	}
	_, ok := natFromBytes([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, 1)
	assert.False(t, ok, "nine significant bytes in one limb")
	x, ok := natFromBytes([]byte{0, 0, 1}, 1)
	assert.True(t, ok, "leading zero bytes")
	assert.Equal(t, nat{1}, x)
}

func (x nat) big() *big.Int { return new(big.Int).SetBytes(x.bytes(8 * len(x))) }
