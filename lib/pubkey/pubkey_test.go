package pubkey

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var curves = []struct {
	c Curve
	e elliptic.Curve
}{{P256, elliptic.P256()}, {P384, elliptic.P384()}, {P521, elliptic.P521()}}

// TestParams holds each curve's constants against crypto/elliptic's.
func TestParams(t *testing.T) {
	for _, tc := range curves {
		p, want := tc.c.params(), tc.e.Params()
		assert.Equal(t, want.Name, tc.c.String())
		assert.Equal(t, (want.BitSize+7)/8, tc.c.ByteSize(), "%s", tc.c)
		size := tc.c.ByteSize()
		for _, v := range []struct {
			got  []byte
			want *big.Int
		}{
			{p.p.m.bytes(size), want.P}, {p.n.m.bytes(size), want.N}, {p.p.fromMont(p.b).bytes(size), want.B},
			{p.p.fromMont(p.gx).bytes(size), want.Gx}, {p.p.fromMont(p.gy).bytes(size), want.Gy},
		} {
			assert.Equal(t, v.want.FillBytes(make([]byte, size)), v.got, "%s", tc.c)
		}
	}
	assert.Nil(t, Curve(0).params())
	assert.Equal(t, "unknown curve", Curve(9).String())
	assert.Zero(t, Curve(9).ByteSize())
}

func ecKey(t testing.TB, e elliptic.Curve) (*ecdsa.PrivateKey, *EC) {
	k, err := ecdsa.GenerateKey(e, rand.Reader)
	require.NoError(t, err)
	b, err := k.PublicKey.Bytes()
	require.NoError(t, err)
	var c Curve
	for _, tc := range curves {
		if tc.e == e {
			c = tc.c
		}
	}
	pk, err := ParseUncompressed(c, b)
	require.NoError(t, err)
	return k, pk
}

// TestECDSA signs with crypto/ecdsa and holds this package's verdict
// against ecdsa.Verify's: good signatures, digests longer and shorter than
// the order (truncation), and each part changed.
func TestECDSA(t *testing.T) {
	msg := []byte("pantavisor")
	d256, d384, d512 := sha256.Sum256(msg), sha512.Sum384(msg), sha512.Sum512(msg)
	digests := [][]byte{d256[:], d384[:], d512[:], d256[:20], {}}
	for _, tc := range curves {
		k, pk := ecKey(t, tc.e)
		_, other := ecKey(t, tc.e)
		for _, d := range digests {
			r, s, err := ecdsa.Sign(rand.Reader, k, d)
			require.NoError(t, err)
			n := tc.e.Params().N
			cases := []struct {
				name string
				key  *EC
				d    []byte
				r, s *big.Int
			}{
				{"good", pk, d, r, s},
				{"other key", other, d, r, s},
				{"r+1", pk, d, new(big.Int).Add(r, big.NewInt(1)), s},
				{"s+1", pk, d, r, new(big.Int).Add(s, big.NewInt(1))},
				{"n-s", pk, d, r, new(big.Int).Sub(n, s)}, // ECDSA malleability: (r, n-s) verifies too
				{"r=0", pk, d, new(big.Int), s},
				{"s=0", pk, d, r, new(big.Int)},
				{"r=n", pk, d, n, s},
				{"s=n", pk, d, r, n},
				{"r+n", pk, d, new(big.Int).Add(r, n), s},
				{"digest changed", pk, append([]byte{1}, d...), r, s},
			}
			for _, c := range cases {
				priv := &ecdsa.PublicKey{Curve: tc.e, X: new(big.Int).SetBytes(c.key.x), Y: new(big.Int).SetBytes(c.key.y)}
				want := ecdsa.Verify(priv, c.d, c.r, c.s)
				assert.Equal(t, want, c.key.Verify(c.d, c.r.Bytes(), c.s.Bytes()), "%s digest %d: %s", tc.c, len(d), c.name)
				if c.name == "good" || c.name == "n-s" {
					assert.True(t, want, "%s: %s", tc.c, c.name)
				}
			}
		}
	}
}

// TestParseUncompressed: the points crypto/ecdsa refuses are refused.
func TestParseUncompressed(t *testing.T) {
	for _, tc := range curves {
		k, _ := ecKey(t, tc.e)
		good, err := k.PublicKey.Bytes()
		require.NoError(t, err)
		p := tc.e.Params()
		size := tc.c.ByteSize()
		point := func(x, y *big.Int) []byte {
			b := []byte{4}
			b = append(b, x.FillBytes(make([]byte, size))...)
			return append(b, y.FillBytes(make([]byte, size))...)
		}
		flip := append([]byte(nil), good...)
		flip[len(flip)-1] ^= 1
		for name, b := range map[string][]byte{
			"good":       good,
			"y flipped":  flip,
			"compressed": append([]byte{2}, good[1:1+size]...),
			"short":      good[:len(good)-1],
			"long":       append(append([]byte(nil), good...), 0),
			"empty":      nil,
			"infinity":   point(new(big.Int), new(big.Int)),
			"x=p":        point(p.P, k.Y),
			"generator":  point(p.Gx, p.Gy),
			"y=-y":       point(k.X, new(big.Int).Sub(p.P, k.Y)),
		} {
			_, wantErr := ecdsa.ParseUncompressedPublicKey(tc.e, b)
			got, err := ParseUncompressed(tc.c, b)
			assert.Equal(t, wantErr == nil, err == nil, "%s %s: ours %v, crypto/ecdsa %v", tc.c, name, err, wantErr)
			if err == nil {
				assert.Equal(t, tc.c, got.Curve)
			}
		}
	}
	_, err := ParseUncompressed(Curve(0), []byte{4})
	assert.Error(t, err)
}

// TestRSA signs with crypto/rsa and holds this package's verdict against
// rsa.VerifyPKCS1v15's, for each hash and each part changed, and refuses
// the keys crypto/rsa refuses.
func TestRSA(t *testing.T) {
	for _, bits := range []int{1024, 2048, 3072} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		require.NoError(t, err)
		pk := &RSA{N: k.N.Bytes(), E: k.E}
		assert.Equal(t, k.Size(), pk.Size())
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			hh := h.New()
			hh.Write([]byte("pantavisor"))
			d := hh.Sum(nil)
			sig, err := rsa.SignPKCS1v15(rand.Reader, k, h, d)
			require.NoError(t, err)
			flipped := append([]byte(nil), sig...)
			flipped[len(flipped)/2] ^= 0x10
			cases := []struct {
				name string
				h    crypto.Hash
				d    []byte
				sig  []byte
			}{
				{"good", h, d, sig},
				{"sig changed", h, d, flipped},
				{"sig short", h, d, sig[1:]},
				{"sig long", h, d, append([]byte{0}, sig...)},
				{"sig = n", h, d, k.N.FillBytes(make([]byte, len(sig)))},
				{"digest changed", h, append([]byte{1}, d[1:]...), sig},
				{"digest short", h, d[1:], sig},
				{"other hash", crypto.SHA1, d[:20], sig},
			}
			for _, c := range cases {
				want := rsa.VerifyPKCS1v15(&k.PublicKey, c.h, c.d, c.sig)
				got := pk.VerifyPKCS1v15(c.h, c.d, c.sig)
				assert.Equal(t, want == nil, got == nil, "%d %s %s: ours %v, crypto/rsa %v", bits, h, c.name, got, want)
				if c.name == "good" {
					assert.NoError(t, got)
				} else if got != nil {
					assert.ErrorIs(t, got, ErrVerification, "%s", c.name)
				}
			}
		}
	}
}

// TestRSAKeyChecks: keys crypto/rsa refuses are refused before any
// arithmetic.
func TestRSAKeyChecks(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	d := sha256.Sum256(nil)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	require.NoError(t, err)
	small, err := rand.Prime(rand.Reader, 1000)
	require.NoError(t, err)
	for name, key := range map[string]rsa.PublicKey{
		"good":            {N: k.N, E: k.E},
		"nil modulus":     {E: k.E},
		"512-bit":         {N: small, E: k.E},
		"even modulus":    {N: new(big.Int).Add(k.N, big.NewInt(1)), E: k.E},
		"exponent 1":      {N: k.N, E: 1},
		"exponent even":   {N: k.N, E: 65538},
		"exponent 2^31+1": {N: k.N, E: 1<<31 + 1},
	} {
		want := rsa.VerifyPKCS1v15(&key, crypto.SHA256, d[:], sig)
		var n []byte
		if key.N != nil {
			n = key.N.Bytes()
		}
		got := (&RSA{N: n, E: key.E}).VerifyPKCS1v15(crypto.SHA256, d[:], sig)
		assert.Equal(t, want == nil, got == nil, "%s: ours %v, crypto/rsa %v", name, got, want)
		if name != "good" {
			assert.Error(t, got, name)
		}
	}
}

// FuzzECDSA holds Verify against ecdsa.Verify for any r, s and digest on
// a fixed P-256 key, seeded with good signatures.
func FuzzECDSA(f *testing.F) {
	k, pk := ecKey(f, elliptic.P256())
	for _, m := range []string{"", "a", "pantavisor"} {
		d := sha256.Sum256([]byte(m))
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		require.NoError(f, err)
		f.Add(d[:], r.Bytes(), s.Bytes())
	}
	f.Fuzz(func(t *testing.T, d, rb, sb []byte) {
		r, s := new(big.Int).SetBytes(rb), new(big.Int).SetBytes(sb)
		if got, want := pk.Verify(d, rb, sb), ecdsa.Verify(&k.PublicKey, d, r, s); got != want {
			t.Fatalf("Verify(%x, %x, %x) = %v, crypto/ecdsa %v", d, r, s, got, want)
		}
	})
}

// BenchmarkVerify measures one P-256 and one RSA-2048 verification here
// and with crypto/ecdsa and crypto/rsa, for the ratio.
func BenchmarkVerify(b *testing.B) {
	k, pk := ecKey(b, elliptic.P256())
	d := sha256.Sum256([]byte("pantavisor"))
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	require.NoError(b, err)
	b.Run("P256/pubkey", func(b *testing.B) {
		for b.Loop() {
			pk.Verify(d[:], r.Bytes(), s.Bytes())
		}
	})
	b.Run("P256/crypto-ecdsa", func(b *testing.B) {
		for b.Loop() {
			ecdsa.Verify(&k.PublicKey, d[:], r, s)
		}
	})
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(b, err)
	sig, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, d[:])
	require.NoError(b, err)
	rpk := &RSA{N: rk.N.Bytes(), E: rk.E}
	b.Run("RSA2048/pubkey", func(b *testing.B) {
		for b.Loop() {
			_ = rpk.VerifyPKCS1v15(crypto.SHA256, d[:], sig)
		}
	})
	b.Run("RSA2048/crypto-rsa", func(b *testing.B) {
		for b.Loop() {
			_ = rsa.VerifyPKCS1v15(&rk.PublicKey, crypto.SHA256, d[:], sig)
		}
	})
}

// TestDigest: each hash the verifiers take gives crypto.Hash's own sum.
func TestDigest(t *testing.T) {
	msg := []byte("pantavisor")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		hh := h.New()
		hh.Write(msg)
		assert.Equal(t, hh.Sum(nil), Digest(h, msg), "%s", h)
	}
}
