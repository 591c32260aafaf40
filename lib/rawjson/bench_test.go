package rawjson

import (
	"os"
	"testing"
)

// BenchmarkParse parses a 29 KB revision state (JSON only, no state
// model); it measures the CPU cost of build flags (make bench).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("../../testdata/conformance/pvtx/expected/state_after_new_package.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
