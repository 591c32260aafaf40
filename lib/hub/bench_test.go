package hub

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/hub/fetch"
	"pantavisor/lib/storage"
)

// The hub client's benchmarks (make bench-hub): download throughput
// against curl, idle traffic per hour (bench_idle_test.go) and the memory
// a download adds to a process (bench_memory_test.go). Each reports its
// figures with b.ReportMetric; none asserts a time.

// downloadSize is the object BenchmarkDownload fetches: 64 MiB.
const downloadSize = 64 << 20

// randomBytes returns n bytes of a fixed pseudo-random stream (ChaCha8:
// incompressible, and quick to make).
func randomBytes(n int) []byte {
	p := make([]byte, n)
	var seed [32]byte
	copy(seed[:], "pantavisor bench-hub object seed")
	_, _ = rand.NewChaCha8(seed).Read(p) // never fails
	return p
}

// benchObject stores n random bytes in r's hub and returns them as the
// agent's fetcher would see them: GET /objects/<sha> with the agent's
// token, whose signed-geturl the hub serves from memory. r must be idle.
func benchObject(b *testing.B, r *rig, n int) fetch.Want {
	b.Helper()
	sha := r.hub.AddObject(randomBytes(n))
	w, err := r.agent.objectMeta(r.ctx, object{name: "bench", sha: sha})
	require.NoError(b, err)
	require.Equal(b, int64(n), w.Size)
	return w
}

// BenchmarkDownload fetches a 64 MiB object from the fake hub over TLS
// (verified with its CA) into a fresh lib/storage, the device's way:
// fetch.Fetcher over Getter over hubhttp, sha256 while streaming, fsync
// every 8 MiB and at the end, installed under its sha. Alternating with
// it (the order swapped every iteration), curl writes the same object
// from the same signed URL to a file on the same filesystem. Reported:
// MB/s of each (10^6 bytes per second of wall time, curl's process start
// included) and ours/curl (goal >= 0.9).
func BenchmarkDownload(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Fatalf("curl is needed as the baseline (make bench-hub installs it): %v", err)
	}
	r := newRig(b, nil, "", true)
	r.idle()
	w := benchObject(b, r, downloadSize)
	client := r.opts.Client
	dir := b.TempDir()
	var ours, theirs time.Duration
	b.ResetTimer()
	for i := range b.N {
		runOurs := func() {
			ours += fetchOnce(b, &fetch.Fetcher{Getter: Getter{Client: &client}}, w, filepath.Join(dir, fmt.Sprint("storage", i)))
		}
		runCurl := func() { theirs += curlOnce(b, curl, r.hub.CAFile(), w, filepath.Join(dir, "curl.out")) }
		if i%2 == 0 {
			runOurs()
			runCurl()
		} else {
			runCurl()
			runOurs()
		}
	}
	b.StopTimer()
	mb := float64(b.N) * float64(downloadSize) / 1e6
	b.ReportMetric(mb/ours.Seconds(), "MB/s-ours")
	b.ReportMetric(mb/theirs.Seconds(), "MB/s-curl")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ours/curl")
}

// fetchOnce opens a new storage in dir, times f fetching w into it,
// checks that the object is installed and removes the storage.
func fetchOnce(b *testing.B, f *fetch.Fetcher, w fetch.Want, dir string) time.Duration {
	b.Helper()
	st, err := storage.Open(dir, storage.Options{})
	require.NoError(b, err)
	f.Storage = st
	start := time.Now()
	err = f.Fetch(b.Context(), w, nil)
	d := time.Since(start)
	require.NoError(b, err)
	require.True(b, st.HasObject(w.SHA), "object not installed")
	require.NoError(b, os.RemoveAll(dir))
	return d
}

// curlOnce times curl writing w's URL to out, checks the file's size and
// removes it.
func curlOnce(b *testing.B, curl, caFile string, w fetch.Want, out string) time.Duration {
	b.Helper()
	cmd := exec.Command(curl, "-sS", "--fail", "--cacert", caFile, "-o", out, w.URL)
	start := time.Now()
	msg, err := cmd.CombinedOutput()
	d := time.Since(start)
	require.NoError(b, err, "curl: %s", msg)
	fi, err := os.Stat(out)
	require.NoError(b, err)
	require.Equal(b, w.Size, fi.Size(), "curl wrote a short file")
	require.NoError(b, os.Remove(out))
	return d
}
