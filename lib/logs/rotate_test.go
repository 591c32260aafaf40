package logs

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dirSize sums the regular files under root (files vanishing meanwhile
// are skipped).
func dirSize(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// watchSize samples the size of root every millisecond until stop is
// closed and returns the largest size seen.
func watchSize(root string, stop chan struct{}) func() int64 {
	var max atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n := dirSize(root); n > max.Load() {
				max.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() int64 { wg.Wait(); return max.Load() }
}

// TestRotationCap floods the log server with 20 MB through the socket
// under a 1 MiB budget: the dir never exceeds the budget plus one rotate
// size, files rotate to <name>.<N>.gz, and the oldest rotated files go.
func TestRotationCap(t *testing.T) {
	const budget = 1 << 20
	s, el := startServer(t, func(s *Server) { s.DirMaxSize = budget })
	fig := Figures(budget, 4, 5)
	stop := make(chan struct{})
	maxSeen := watchSize(s.StorageLogs, stop)

	c, err := Dial(s.RunDir)
	require.NoError(t, err)
	var sent int64
	for i := 0; sent < 20<<20; i++ {
		msg := fmt.Sprintf("request %08d from 10.0.%d.%d took %dms status=%d path=/api/v1/items/%x", i, i%251, i%13, i%997, 200+i%5, i*7919)
		require.NoError(t, c.Send(Info, "flood", msg))
		sent += int64(len(msg) + 1)
	}
	require.NoError(t, c.Send(Info, "done", "end")) // same connection: written after all the flood
	require.NoError(t, c.Close())
	waitFile(t, filepath.Join(s.StorageLogs, "1/app/done"), "end\n")
	close(stop)
	peak := maxSeen()
	final := dirSize(s.StorageLogs)
	t.Logf("sent %d bytes; budget %d, high %d, low %d, rotate size %d; peak %d, final %d",
		sent, fig.Budget, fig.High, fig.Low, fig.RotateSize, peak, final)
	assert.LessOrEqual(t, peak, int64(budget)+fig.RotateSize, "peak size of the log dir")
	assert.LessOrEqual(t, final, int64(budget))
	assert.Empty(t, el.list())

	dir := filepath.Join(s.StorageLogs, "1/app")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	lowest, highest, count := int(^uint(0)>>1), 0, 0
	for _, e := range ents {
		if base, n, ok := rotatedName(e.Name()); ok {
			assert.Equal(t, "flood", base)
			lowest, highest, count = min(lowest, n), max(highest, n), count+1
		}
	}
	t.Logf("%d rotated files left, numbers %d..%d", count, lowest, highest)
	require.Greater(t, count, 1)
	assert.Greater(t, lowest, 1, "the oldest rotated files were deleted")
	assert.Equal(t, highest-lowest+1, count, "what is left is the newest, without holes")
	live, err := os.Stat(filepath.Join(dir, "flood"))
	require.NoError(t, err)
	assert.Less(t, live.Size(), fig.RotateSize+200)

	// A rotated file is a complete gzip stream of whole lines.
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("flood.%d.gz", highest)))
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	sc := bufio.NewScanner(zr)
	var lines int64
	for sc.Scan() {
		require.True(t, strings.HasPrefix(sc.Text(), "request "), sc.Text())
		lines++
	}
	require.NoError(t, sc.Err())
	assert.Greater(t, lines*90, fig.RotateSize*9/10, "a rotated file holds about one rotate size of text")
}

// TestCapManySources: many sources, none big enough to rotate, still fit
// in the budget (the fallback beyond upstream deletes the largest live
// files).
func TestCapManySources(t *testing.T) {
	const budget = 1 << 20
	s, el := startServer(t, func(s *Server) { s.DirMaxSize = budget })
	line := strings.Repeat("z", 99) + "\n"
	for i := 0; i < 300; i++ { // 60 sources x 30 KB = 1.8 MB, rotate size 52 KB
		src := fmt.Sprintf("src%02d", i%60)
		for j := 0; j < 5; j++ {
			require.NoError(t, s.Write(Message{Proto: Raw, Level: Info, Platform: "app", Source: src, Data: []byte(strings.Repeat(line, 12))}))
		}
	}
	assert.LessOrEqual(t, dirSize(s.StorageLogs), int64(budget))
	assert.Empty(t, el.list())
}

// TestRotationKeepsNumbering: a rotation continues after the highest
// existing number, also across restarts.
func TestRotationKeepsNumbering(t *testing.T) {
	s, _ := startServer(t, func(s *Server) { s.DirMaxSize = 100 << 10 }) // rotate size 5120
	dir := filepath.Join(s.StorageLogs, "1/app")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.7.gz"), nil, 0o644))
	require.NoError(t, s.Write(Message{Proto: Raw, Level: Info, Platform: "app", Source: "x", Data: []byte(strings.Repeat("a", 6000))}))
	assert.FileExists(t, filepath.Join(dir, "x.8.gz"))
	assert.NoFileExists(t, filepath.Join(dir, "x"))
}
