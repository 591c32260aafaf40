package ctrl

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/storage"
)

// TestStorageGC: POST /storage/gc answers {"reclaimed": N} with the bytes
// freed, removes old revisions and orphan objects, and keeps current, the
// last DONE revision, and what a local update is still uploading.
func TestStorageGC(t *testing.T) {
	ss := newStorageServer(t, "")
	goldenStorage(t, "gc_nothing", rawReq(t, ss.socket, req10("POST", "/storage/gc", "")))

	old := time.Now().Add(-time.Hour)
	putStep(t, ss.st, "0", stepState)
	require.NoError(t, ss.st.SetProgress("0", []byte(factoryPrg)))
	putStep(t, ss.st, "1", stepState)
	require.NoError(t, ss.st.SetProgress("1", []byte(`{"status":"ERROR","status-msg":"Internal error","progress":100,"retries":0}`)))
	putStep(t, ss.st, "2", stepState)
	require.NoError(t, ss.st.SetCurrent("2"))
	putStep(t, ss.st, "locals/stale", stepState) // NEW, uploaded an hour ago
	putStep(t, ss.st, "locals/fresh", stepState) // NEW, just uploaded
	setMtime(t, ss.st.TrailPath("locals/stale"), old)
	orphan, fresh := "orphan object", "fresh object"
	for _, c := range []string{orphan, fresh} {
		_, err := ss.st.InstallObject(hexSum([]byte(c)), -1, strings.NewReader(c))
		require.NoError(t, err)
	}
	setMtime(t, ss.st.ObjectPath(hexSum([]byte(orphan))), old)

	// Bytes freed: revision 1's and locals/stale's files, and the orphan.
	want := int64(len(orphan))
	for _, rev := range []string{"1", "locals/stale"} {
		filepath.Walk(ss.st.TrailPath(rev), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				want += fi.Size()
			}
			return nil
		})
	}
	code, body := ss.call(t, "POST", "/storage/gc", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"reclaimed": `+itoa(want)+`}`, body)
	revs, err := ss.st.Revisions()
	require.NoError(t, err)
	assert.Equal(t, []string{"0", "2", "locals/fresh"}, revs)
	assert.False(t, ss.st.HasObject(hexSum([]byte(orphan))))
	assert.True(t, ss.st.HasObject(hexSum([]byte(fresh))))

	code, _ = ss.call(t, "GET", "/storage/gc", "")
	assert.Equal(t, 400, code, "POST only")
}

func TestGCOptions(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &Server{}
	o := s.gcOptions(now)
	assert.Equal(t, storage.GCOptions{KeepUpdating: true, KeepLastDone: true,
		KeepNewSince: now.Add(-600 * time.Second), KeepObjectsSince: now.Add(-600 * time.Second)}, o)

	c := config.New()
	require.NoError(t, c.Set(config.LevelPVConf, "PV_STORAGE_GC_KEEP_FACTORY", "1"))
	require.NoError(t, c.Set(config.LevelPVConf, "PV_STORAGE_GC_THRESHOLD_DEFERTIME", "60"))
	s.Config = c
	o = s.gcOptions(now)
	assert.True(t, o.KeepFactory)
	assert.Equal(t, now.Add(-time.Minute), o.KeepNewSince)
}

func TestStorageGCError(t *testing.T) {
	ss := newStorageServer(t, "")
	require.NoError(t, os.RemoveAll(filepath.Join(ss.st.Root, "objects")))
	code, body := ss.call(t, "POST", "/storage/gc", "")
	assert.Equal(t, 500, code)
	assert.Equal(t, errorBody("Error running garbage collector"), body)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
