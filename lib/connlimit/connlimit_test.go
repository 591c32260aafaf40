package connlimit

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Other: "container", Mgmt: "mgmt", Host: "host", 3: "class?", 255: "class?"} {
		assert.Equal(t, want, c.String(), int(c))
	}
}

var (
	host = Peer{Class: Host}
	mgmt = Peer{Class: Mgmt, Name: "m"}
	a    = Peer{Class: Other, Name: "a"}
	b    = Peer{Class: Other, Name: "b"}
)

// takeN takes up to n slots for p and returns how many were admitted.
func takeN(tb *Table, p Peer, n int) int {
	got := 0
	for range n {
		if tb.Take(p) {
			got++
		}
	}
	return got
}

func TestTake(t *testing.T) {
	lim := Limits{Host: 2, Mgmt: 3, PerContainer: 4}
	tests := []struct {
		name  string
		setup func(*Table)
		peer  Peer
		want  int // admitted of 20 tries
	}{
		{"empty: a container gets its cap", nil, a, 4},
		{"empty: host gets all but mgmt's reserve", nil, host, 7},
		{"empty: mgmt gets all but the host's reserve", nil, mgmt, 8},
		{"an unknown class is Other", nil, Peer{Class: 9, Name: "a"}, 4},
		{"containers fill the shared slots", func(tb *Table) { takeN(tb, a, 4) }, b, 1},
		{"the host keeps its reserve", func(tb *Table) { takeN(tb, a, 4); takeN(tb, b, 4) }, host, 2},
		{"mgmt keeps its reserve", func(tb *Table) { takeN(tb, a, 4); takeN(tb, b, 4) }, mgmt, 3},
		{"mgmt past its reserve uses shared slots", func(tb *Table) { takeN(tb, mgmt, 3) }, mgmt, 5},
		{"mgmt cannot take the host's reserve", func(tb *Table) { takeN(tb, mgmt, 8) }, host, 2},
		{"the host beyond its reserve leaves mgmt's", func(tb *Table) { takeN(tb, host, 7) }, mgmt, 3},
		{"the host beyond its reserve crowds containers out", func(tb *Table) { takeN(tb, host, 6) }, a, 1},
		{"a full host leaves containers nothing", func(tb *Table) { takeN(tb, host, 7) }, a, 0},
		{"a container's cap is its own", func(tb *Table) { takeN(tb, a, 4) }, a, 0},
		{"unnamed callers share one cap", func(tb *Table) { takeN(tb, Peer{}, 4) }, Peer{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := New(10, lim)
			if tt.setup != nil {
				tt.setup(tb)
			}
			assert.Equal(t, tt.want, takeN(tb, tt.peer, 20))
		})
	}
}

func TestZeroLimitsIsOnePool(t *testing.T) {
	tb := New(3, Limits{})
	assert.Equal(t, 2, takeN(tb, a, 2))
	assert.Equal(t, 1, takeN(tb, host, 5))
	assert.Equal(t, 0, takeN(tb, mgmt, 1))
	tb.Release(a)
	assert.Equal(t, 1, takeN(tb, mgmt, 5))
}

func TestRelease(t *testing.T) {
	tb := New(10, Limits{Host: 2, Mgmt: 3, PerContainer: 4})
	assert.Equal(t, 4, takeN(tb, a, 9))
	assert.Equal(t, 1, takeN(tb, b, 9))
	tb.Release(a)
	assert.Equal(t, 4, tb.Open(Other))
	assert.Equal(t, 1, takeN(tb, b, 9), "a's freed slot is shared")
	for range 3 {
		tb.Release(a)
	}
	tb.Release(b)
	tb.Release(b)
	assert.Zero(t, tb.Open(Other))
	assert.Empty(t, tb.per, "released names are forgotten")
	tb.Release(host) // more releases than takes are harmless
	assert.Zero(t, tb.Open(Host))
	assert.Zero(t, tb.Open(7))
	assert.Equal(t, 4, takeN(tb, a, 9))
}
