package ctrl

import (
	"time"

	"pantavisor/lib/config"
	"pantavisor/lib/http1"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/storage"
)

// defaultGCDefer is PV_STORAGE_GC_THRESHOLD_DEFERTIME's default: how long
// an uploaded object or a step not yet run is kept from the collector.
const defaultGCDefer = 600 * time.Second

// storageGC answers POST /storage/gc: {"reclaimed": <bytes>} (a space
// after the colon). Besides upstream's rules (keep current, the last
// committed revision, 0 per PV_STORAGE_GC_KEEP_FACTORY, the update in
// progress) it keeps what a local update is still uploading: steps not
// yet run and objects stored within PV_STORAGE_GC_THRESHOLD_DEFERTIME.
func (s *Server) storageGC(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	if s.Storage == nil {
		sendError(w, 500, "Error running garbage collector")
		return
	}
	rep, err := s.Storage.GC(s.gcOptions(time.Now()))
	if err != nil {
		s.logf("garbage collector: " + err.Error())
		sendError(w, 500, "Error running garbage collector")
		return
	}
	s.logf("garbage collector: " + rep.String())
	b := append([]byte(nil), `{"reclaimed": `...)
	b = rawjson.AppendInt(b, rep.Bytes)
	sendJSON(w, append(b, '}'))
}

// gcOptions are the collector's options for a run at now.
func (s *Server) gcOptions(now time.Time) storage.GCOptions {
	c := s.cfg()
	deferTime := c.Get(config.StorageGcThresholdDefertime).Duration()
	if deferTime <= 0 {
		deferTime = defaultGCDefer
	}
	since := now.Add(-deferTime)
	return storage.GCOptions{
		KeepFactory:      c.Get(config.StorageGcKeepFactory).Bool(),
		KeepUpdating:     true,
		KeepLastDone:     true,
		KeepNewSince:     since,
		KeepObjectsSince: since,
	}
}
