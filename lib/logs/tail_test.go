package logs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTail follows a file: lines as they are completed, a partial last
// line only once finished, a truncated file from its start, and with
// Truncate the file is emptied once past MaxSize.
func TestTail(t *testing.T) {
	s, _ := startServer(t, nil)
	src := filepath.Join(t.TempDir(), "messages")
	tail := Tail{Path: src, Platform: "app", Source: "var/log/messages", MaxSize: 40, Truncate: true}
	out := filepath.Join(s.StorageLogs, "1", "app", "var", "log", "messages")
	read := func() string { b, _ := os.ReadFile(out); return string(b) }

	off, partial := tail.poll(s, 0, nil)
	assert.Zero(t, off, "a missing file is waited for")
	require.NoError(t, os.WriteFile(src, []byte("one\ntwo\nthr"), 0o644))
	off, partial = tail.poll(s, off, partial)
	assert.Equal(t, "one\ntwo\n", read())
	f, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	f.WriteString("ee\n" + string(make([]byte, 0)) + "0123456789012345678901234567890\n")
	f.Close()
	off, partial = tail.poll(s, off, partial)
	assert.Equal(t, "one\ntwo\nthree\n0123456789012345678901234567890\n", read())
	assert.Zero(t, off, "past MaxSize with Truncate: the file was emptied")
	fi, err := os.Stat(src)
	require.NoError(t, err)
	assert.Zero(t, fi.Size())

	require.NoError(t, os.WriteFile(src, []byte("after\n"), 0o644))
	tail.poll(s, 100, partial)
	assert.Contains(t, read(), "after\n", "a file smaller than the offset is read again from its start")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		(&Tail{Path: src, Platform: "app", Source: "x", Every: time.Millisecond}).Run(ctx, s)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}
