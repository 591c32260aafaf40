package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBeforeStopRunsBeforeTheStop: a failure found by a step is handed
// to BeforeStop while every container still runs; the containers stop
// only once it returns, and Run returns the failure.
func TestBeforeStopRunsBeforeTheStop(t *testing.T) {
	st := revision(t, "", [2]string{"a", `,"group":"root"`}, [2]string{"b", `,"group":"platform"`})
	r := newRunner()
	held := make(chan Outcome, 1)
	release := make(chan struct{})
	e := New(st, r, Options{Tick: time.Millisecond, BeforeStop: func(o Outcome) { held <- o; <-release }})
	done := make(chan Outcome, 1)
	go func() { done <- e.Run(context.Background()) }()
	require.Eventually(t, func() bool { return e.Status() == Ready }, 2*time.Second, time.Millisecond)
	r.unit("b").done <- 1
	var got Outcome
	select {
	case got = <-held:
	case <-time.After(2 * time.Second):
		t.Fatal("BeforeStop not called")
	}
	assert.Equal(t, Fail, got.Action)
	assert.Equal(t, ContainerFailed, got.Cause)
	assert.EqualValues(t, 0, r.unit("a").stops.Load(), "a still runs while BeforeStop holds")
	select {
	case <-done:
		t.Fatal("Run returned while BeforeStop holds")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, got, <-done)
	assert.EqualValues(t, 1, r.unit("a").stops.Load(), "stopped after")
}
