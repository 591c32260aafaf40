package launch

import (
	"testing"

	"github.com/stretchr/testify/require"

	"pantavisor/lib/netpool"
)

// benchStart times StartRevision of container c1 of a revision whose
// init exits at once; its exit and cleanup are not timed.
func benchStart(b *testing.B, network string) {
	nf := newNetFixture(b, netpool.Bridge{})
	require.Empty(b, nf.setPools(b, `{"pools":{"internal":{"bridge":"pvbr80","subnet":"10.80.0.0/16","gateway":"10.80.0.1"}}}`))
	nf.install(b, "0", netCtr{name: "c1", script: "exit 0\n", network: network})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := StartRevision(nf.st, "0", "c1", nf.opts)
		require.NoError(b, err)
		b.StopTimer()
		in.Wait()
		require.NoError(b, in.Close())
		b.StartTimer()
	}
}

// BenchmarkStart: a container on the device's network (no pool).
func BenchmarkStart(b *testing.B) { benchStart(b, "") }

// BenchmarkStartPool: a container on a bridge pool (its own network
// namespace, a veth pair on the pool's bridge, an address lease, the
// stage's interface setup).
func BenchmarkStartPool(b *testing.B) { benchStart(b, `{"mode":"pool","pool":"internal"}`) }
