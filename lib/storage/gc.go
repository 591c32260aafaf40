package storage

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/progress"
	"pantavisor/lib/state"
)

// GCOptions say what the collector must keep besides trails/current.
type GCOptions struct {
	Keep        []string // revisions to keep: running, in-progress update, last committed (pv_rev)
	KeepFactory bool     // keep revision "0" (PV_STORAGE_GC_KEEP_FACTORY)
	KeepObjects []string // objects an ongoing update still needs

	// KeepUpdating keeps revisions whose progress says an update is under
	// way (QUEUED, DOWNLOADING, INPROGRESS, TESTING), for callers that do
	// not know the in-progress revision.
	KeepUpdating bool
	// KeepLastDone keeps the most recently committed revision (done
	// marker or progress DONE), for callers that cannot read pv_rev.
	KeepLastDone bool
	// KeepNewSince, when not zero, keeps revisions not yet run (progress
	// NEW) whose trail changed at or after it: a local step uploaded for
	// a LOCAL_RUN that has not come yet. Upstream removes them.
	KeepNewSince time.Time
	// KeepObjectsSince, when not zero, keeps objects stored at or after it
	// (uploaded for a step not uploaded yet).
	KeepObjectsSince time.Time
}

// GCReport is what a collection removed.
type GCReport struct {
	Revisions []string
	Objects   int
	Bytes     int64 // reclaimed: removed objects plus removed trail/log/volume files
}

// String summarises a report for a log line.
func (r GCReport) String() string {
	return printf.Sprintf("removed %d revisions %v and %d objects, reclaimed %d bytes", len(r.Revisions), r.Revisions, r.Objects, r.Bytes)
}

// GC removes every revision but the kept ones (and the one trails/current
// points to) with its logs and revision volumes, then every object no trail
// links any more (link count 1), as upstream's collector does, except
// objects a remaining revision's state still names; then the partial
// downloads of objects nothing keeps (or already stored); last the
// fs-verity records of objects that are gone.
func (s *Storage) GC(opts GCOptions) (GCReport, error) {
	var rep GCReport
	keep := map[string]bool{}
	for _, r := range opts.Keep {
		keep[r] = true
	}
	if cur, err := s.Current(); err == nil {
		keep[cur] = true
	}
	if opts.KeepFactory {
		keep["0"] = true
	}
	revs, err := s.Revisions()
	if err != nil {
		return rep, err
	}
	s.keepByProgress(revs, opts, keep)
	for _, rev := range revs {
		if keep[rev] {
			continue
		}
		for _, p := range []string{s.TrailPath(rev), s.path("logs", rev), s.path("disks", "rev", rev)} {
			n, err := removeTree(p)
			rep.Bytes += n
			if err != nil {
				return rep, err
			}
		}
		rep.Revisions = append(rep.Revisions, rev)
	}
	if err := s.W.SyncDir(s.path("trails")); err != nil {
		return rep, err
	}
	keepObjs, err := s.referencedObjects(opts.KeepObjects)
	if err != nil {
		return rep, err
	}
	n, b, err := s.removeUnlinkedObjects(keepObjs, opts.KeepObjectsSince)
	rep.Objects, rep.Bytes = n, rep.Bytes+b
	if err != nil {
		return rep, err
	}
	_, b, err = s.removeStalePartials(keepObjs, opts.KeepObjectsSince)
	rep.Bytes += b
	if err != nil {
		return rep, err
	}
	return rep, s.removeStaleRecords()
}

// keepByProgress adds to keep the revisions opts keeps for what their
// progress files say.
func (s *Storage) keepByProgress(revs []string, opts GCOptions, keep map[string]bool) {
	if !opts.KeepUpdating && !opts.KeepLastDone && opts.KeepNewSince.IsZero() {
		return
	}
	var lastDone string
	var lastTime time.Time
	for _, rev := range revs {
		status, mtime := s.progressStatus(rev)
		switch {
		case status == progress.New && !opts.KeepNewSince.IsZero():
			if fi, err := os.Stat(s.TrailPath(rev)); err == nil && !fi.ModTime().Before(opts.KeepNewSince) {
				keep[rev] = true
			}
		case opts.KeepUpdating && status != "" && status != progress.New && !progress.Final(status):
			keep[rev] = true
		}
		if fi, err := os.Stat(filepath.Join(s.TrailPath(rev), ".pv", DoneFile)); err == nil {
			status, mtime = progress.Done, fi.ModTime()
		}
		if status == progress.Done && !mtime.Before(lastTime) {
			lastDone, lastTime = rev, mtime
		}
	}
	if opts.KeepLastDone && lastDone != "" {
		keep[lastDone] = true
	}
}

// progressStatus returns the status in rev's progress file and the file's
// mtime; "" when there is none or it does not parse.
func (s *Storage) progressStatus(rev string) (string, time.Time) {
	p := filepath.Join(s.TrailPath(rev), ".pv", ProgressFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return "", time.Time{}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", time.Time{}
	}
	pr, err := progress.Parse(data)
	if err != nil {
		return "", time.Time{}
	}
	return pr.Status, fi.ModTime()
}

// referencedObjects returns extra plus every object a remaining revision's
// state names. Upstream relies on link counts alone, which loses the
// objects of ".bind" keys (copied, never linked); we keep them.
func (s *Storage) referencedObjects(extra []string) (map[string]bool, error) {
	keep := map[string]bool{}
	for _, k := range extra {
		keep[k] = true
	}
	revs, err := s.Revisions()
	if err != nil {
		return nil, err
	}
	for _, rev := range revs {
		data, err := s.StateJSON(rev)
		if err != nil {
			continue // a trail without state keeps nothing alive
		}
		st, err := state.Parse(data, state.Options{})
		if err != nil {
			continue
		}
		for _, o := range st.Objects {
			keep[o.SHA] = true
		}
	}
	return keep, nil
}

func (s *Storage) removeUnlinkedObjects(keep map[string]bool, since time.Time) (n int, bytes int64, err error) {
	return s.removeFiles("objects", since, func(name string, fi os.FileInfo) bool {
		return !keep[name] && !strings.HasSuffix(name, ".tmp") && linkCount(fi) == 1
	})
}

// removeFiles removes the regular files of dir (under the storage) that
// remove selects, except (when since is not zero) those modified at or
// after since, and fsyncs dir when it removed any.
func (s *Storage) removeFiles(dir string, since time.Time, remove func(name string, fi os.FileInfo) bool) (n int, bytes int64, err error) {
	entries, err := os.ReadDir(s.path(dir))
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !remove(e.Name(), fi) {
			continue
		}
		if !since.IsZero() && !fi.ModTime().Before(since) {
			continue
		}
		if err := os.Remove(s.path(dir, e.Name())); err != nil {
			return n, bytes, err
		}
		n++
		bytes += fi.Size()
	}
	if n > 0 {
		err = s.W.SyncDir(s.path(dir))
	}
	return n, bytes, err
}

// removeTree removes p and returns the bytes of regular files that had no
// other link (what the removal really frees).
func removeTree(p string) (int64, error) {
	var freed int64
	_ = filepath.WalkDir(p, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && linkCount(fi) == 1 {
				freed += fi.Size()
			}
		}
		return nil
	})
	return freed, os.RemoveAll(p)
}
