package storage

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const benchObjectSize = 100 << 20

// bigObject writes a 100 MB random file once per benchmark.
func bigObject(b *testing.B) string {
	b.Helper()
	p := filepath.Join(b.TempDir(), "object")
	data := make([]byte, benchObjectSize)
	rand.Read(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkHashFile is the integrity check's sha256 of one big object
// (MB/s in the output); compare with BenchmarkSha256sum on the same size.
func BenchmarkHashFile(b *testing.B) {
	p := bigObject(b)
	b.SetBytes(benchObjectSize)
	b.ResetTimer()
	for b.Loop() {
		if _, err := HashFile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSha256sum is the baseline: coreutils sha256sum on the same
// kind of file, process start included.
func BenchmarkSha256sum(b *testing.B) {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		b.Skip("SKIPPED: needs sha256sum (coreutils)")
	}
	p := bigObject(b)
	b.SetBytes(benchObjectSize)
	b.ResetTimer()
	for b.Loop() {
		if err := exec.Command("sha256sum", p).Run(); err != nil {
			b.Fatal(err)
		}
	}
}
