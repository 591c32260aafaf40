// Package progress is the update-progress JSON of a revision
// (trails/<rev>/.pv/progress), byte-compatible with upstream's
// update_progress.c: building it, and reading back what it says.
package progress

import (
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Statuses, as upstream writes them.
const (
	New         = "NEW"
	Queued      = "QUEUED"
	Downloading = "DOWNLOADING"
	InProgress  = "INPROGRESS"
	Testing     = "TESTING"
	Updated     = "UPDATED"
	Done        = "DONE"
	WontGo      = "WONTGO"
	Error       = "ERROR"
)

// Messages of the local update flow (exact upstream texts).
const (
	MsgNotInstalled   = "Update not yet installed"
	MsgReady          = "Update ready to be run"
	MsgRebooting      = "Rebooting"
	MsgTransitioning  = "Transitioning to new revision without rebooting"
	MsgTrying         = "Trying new revision"
	MsgAwaitCommit    = "Awaiting to set rollback point if update is stable"
	MsgAwaitStable    = "Awaiting to see if update is stable"
	MsgWaitContainers = "Waiting for all containers to become stable"
	MsgDone           = "Update finished, revision set as rollback point"
	MsgUpdated        = "Update finished, revision not set as rollback point"
	MsgFactory        = "Factory revision"
	MsgNoState        = "State JSON not found"
	MsgBadState       = "State JSON has bad format"
	MsgBadObjects     = "Object validation went wrong"
	MsgContainerStart = "A container could not be started"
	MsgGoalTimeout    = "Status goal not reached"
	MsgInternal       = "Internal error"
	MsgHubUnreachable = "Hub not reachable"
	MsgHubUnstable    = "Hub communication not stable"
)

// Percent is the progress number upstream reports for a status: NEW 0,
// QUEUED 5, DOWNLOADING 25, INPROGRESS 50, TESTING 75, final statuses 100;
// 0 for an unknown status.
func Percent(status string) int {
	switch status {
	case Queued:
		return 5
	case Downloading:
		return 25
	case InProgress:
		return 50
	case Testing:
		return 75
	case Updated, Done, WontGo, Error:
		return 100
	}
	return 0
}

// Final reports whether status ends an update (DONE, UPDATED, WONTGO, ERROR).
func Final(status string) bool {
	switch status {
	case Updated, Done, WontGo, Error:
		return true
	}
	return false
}

// Downloads is the "downloads" member, present only while DOWNLOADING.
type Downloads struct {
	TotalSize, Downloaded int64 // bytes
	StartTime, Now        int64 // unix seconds
}

// Progress is one progress file. The zero Retries and a nil Downloads are
// written as upstream does (retries 0, no downloads member); Logs is
// written only when not empty.
type Progress struct {
	Status    string
	Msg       string
	Progress  int
	Retries   int
	Downloads *Downloads
	Logs      string
}

// Make returns the progress of status with msg and the status's percent.
func Make(status, msg string) Progress {
	return Progress{Status: status, Msg: msg, Progress: Percent(status)}
}

// Append appends p as upstream's JSON: keys status, status-msg, progress,
// retries, then downloads and logs when present, no spaces.
func (p Progress) Append(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = rawjson.AppendString(b, p.Status)
	b = append(b, `,"status-msg":`...)
	b = rawjson.AppendString(b, p.Msg)
	b = append(b, `,"progress":`...)
	b = rawjson.AppendInt(b, int64(p.Progress))
	b = append(b, `,"retries":`...)
	b = rawjson.AppendInt(b, int64(p.Retries))
	if d := p.Downloads; d != nil {
		b = append(b, `,"downloads":{"total":{"object_name":"total","object_id":"none","total_size":`...)
		b = rawjson.AppendInt(b, d.TotalSize)
		b = append(b, `,"total_downloaded":`...)
		b = rawjson.AppendInt(b, d.Downloaded)
		b = append(b, `,"start_time":`...)
		b = rawjson.AppendInt(b, d.StartTime)
		b = append(b, `,"current_time":`...)
		b = rawjson.AppendInt(b, d.Now)
		b = append(b, `}}`...)
	}
	if p.Logs != "" {
		b = append(b, `,"logs":`...)
		b = rawjson.AppendString(b, p.Logs)
	}
	return append(b, '}')
}

// Bytes returns p as JSON (see Append).
func (p Progress) Bytes() []byte { return p.Append(nil) }

// Parse reads a progress file. Only status is required; missing numbers
// are 0 and a missing message is "".
func Parse(data []byte) (Progress, error) {
	v, err := rawjson.Parse(data)
	if err != nil {
		return Progress{}, printf.Errorf("parsing progress: %w", err)
	}
	if v.Kind != rawjson.Object {
		return Progress{}, printf.Errorf("parsing progress: want an object, got %s", v.Kind)
	}
	st, ok := v.Get("status")
	if !ok || st.Kind != rawjson.String {
		return Progress{}, printf.Errorf("parsing progress: no status string")
	}
	p := Progress{Status: st.Str}
	if m, ok := v.Get("status-msg"); ok && m.Kind == rawjson.String {
		p.Msg = m.Str
	}
	if n, ok := v.Get("progress"); ok {
		if i, err := n.Int(); err == nil {
			p.Progress = int(i)
		}
	}
	if n, ok := v.Get("retries"); ok {
		if i, err := n.Int(); err == nil {
			p.Retries = int(i)
		}
	}
	if l, ok := v.Get("logs"); ok && l.Kind == rawjson.String {
		p.Logs = l.Str
	}
	return p, nil
}
