package gz

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logText is log-like text: repeated structure, varying numbers.
func logText(n int) []byte {
	var b bytes.Buffer
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; b.Len() < n; i++ {
		b.WriteString("[pantavisor] " + strconv.Itoa(1700000000+i) + " INFO\t -- [container]: app " +
			strconv.Itoa(r.IntN(5)) + " started, pid " + strconv.Itoa(r.IntN(40000)) + "\n")
	}
	return b.Bytes()[:n]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func roundTrip(t testing.TB, in []byte) []byte {
	var z bytes.Buffer
	n, err := Compress(&z, bytes.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, int64(len(in)), n)
	zr, err := gzip.NewReader(bytes.NewReader(z.Bytes()))
	require.NoError(t, err)
	out, err := io.ReadAll(zr) // checks the CRC-32 and the size
	require.NoError(t, err)
	require.Equal(t, in, out)
	return z.Bytes()
}

// TestRoundTrip reads back with compress/gzip what Compress wrote:
// boundaries of the window and of the match lengths, long runs, text and
// data that does not compress.
func TestRoundTrip(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":       {},
		"one byte":    {'x'},
		"three bytes": []byte("abc"),
		"run":         bytes.Repeat([]byte{'a'}, 100000),
		"runs of 258": bytes.Repeat(append(bytes.Repeat([]byte{'b'}, 258), 'c'), 500),
		"window":      logText(2 * windowSize),
		"window+1":    logText(2*windowSize + 1),
		"text 1 MiB":  logText(1 << 20),
		"random":      randomBytes(3*windowSize + 17),
		"far repeat":  append(append(randomBytes(windowSize-10), randomBytes(20)...), randomBytes(windowSize-10)...),
		"every symbol": func() []byte {
			b := make([]byte, 256*3)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
	} {
		t.Run(name, func(t *testing.T) { roundTrip(t, in) })
	}
}

func TestHeader(t *testing.T) {
	z := roundTrip(t, []byte("hello"))
	// magic, deflate, no flags, no time, no extra flags, OS unknown: what
	// compress/gzip writes by default.
	assert.Equal(t, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, z[:10])
	var std bytes.Buffer
	zw := gzip.NewWriter(&std)
	zw.Write([]byte("hello"))
	zw.Close()
	assert.Equal(t, std.Bytes()[:10], z[:10])
}

// TestGunzip has gzip(1) check the stream, as a user reading rotated logs
// with zcat does.
func TestGunzip(t *testing.T) {
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Skip("no gzip(1) on this machine")
	}
	in := logText(200000)
	var z bytes.Buffer
	_, err := Compress(&z, bytes.NewReader(in))
	require.NoError(t, err)
	cmd := exec.Command("gzip", "-dc")
	cmd.Stdin = &z
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

type failAfter struct{ n int }

func (f *failAfter) Write(b []byte) (int, error) {
	if f.n -= len(b); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("read error") }

func TestErrors(t *testing.T) {
	_, err := Compress(&failAfter{n: 100}, bytes.NewReader(randomBytes(1<<18)))
	assert.EqualError(t, err, "disk full", "a write error is returned")
	_, err = Compress(io.Discard, failingReader{})
	assert.EqualError(t, err, "read error")
}

// FuzzRoundTrip: whatever the input, compress/gzip reads back the same
// bytes.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("abcabcabcabc"))
	f.Add(logText(5000))
	f.Fuzz(func(t *testing.T, in []byte) {
		// Repeat the input so matches cross the window boundaries.
		in = bytes.Repeat(in, 1+70000/(len(in)+1))
		roundTrip(t, in)
	})
}

// BenchmarkCompress compares with compress/gzip's default level on log
// text: output size (ratio of ours to it) and time.
func BenchmarkCompress(b *testing.B) {
	in := logText(4 << 20)
	var std bytes.Buffer
	zw := gzip.NewWriter(&std)
	zw.Write(in)
	zw.Close()
	var ours bytes.Buffer
	b.Run("gz", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for range b.N {
			ours.Reset()
			if _, err := Compress(&ours, bytes.NewReader(in)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(ours.Len())/float64(std.Len()), "size/compress-gzip")
	})
	b.Run("compress-gzip", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for range b.N {
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(in)
			zw.Close()
		}
	})
}
