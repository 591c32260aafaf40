package debugshell

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestViewPassesThroughUnlessPaused(t *testing.T) {
	var out bytes.Buffer
	v := &View{W: &out}
	_, _ = v.Write([]byte("a\n"))
	v.Pause()
	_, _ = v.Write([]byte("b\n"))
	v.Say("to the shell")
	assert.Equal(t, "a\npantavisor: to the shell\n", out.String())
	v.Resume()
	assert.Equal(t, "a\npantavisor: to the shell\nb\n", out.String())
	v.Resume() // not paused: nothing
	assert.Equal(t, "a\npantavisor: to the shell\nb\n", out.String())
}

// TestViewKeepsTail: over Held bytes the oldest lines are dropped, whole,
// and counted.
func TestViewKeepsTail(t *testing.T) {
	var out bytes.Buffer
	v := &View{W: &out, Held: 10}
	v.Pause()
	for _, l := range []string{"one\n", "two\n", "three\n", "four\n"} {
		_, _ = v.Write([]byte(l))
	}
	v.Resume()
	got := out.String()
	assert.True(t, strings.HasSuffix(got, "four\n"), got)
	assert.NotContains(t, got, "one")
	assert.Contains(t, got, "bytes of console log dropped while the debug shell was open")
	assert.LessOrEqual(t, len(got[strings.Index(got, "open\n")+5:]), 10)
}
