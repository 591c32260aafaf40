package state

import (
	"os"
	"testing"
)

// BenchmarkParse parses the biggest conformance state (a 29 KB revision
// with several containers), the work done at every boot and update; it
// measures the CPU cost of build flags (make bench, size levers).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../../testdata/conformance/pvtx/expected/state_after_new_package.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
