package ctrl

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pantavisor/lib/http1"
	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// Error texts of the step routes (upstream's).
const (
	msgBadStep       = "Request has bad step name"
	msgStepsError    = "couldn't get device steps"
	msgNoResource    = "Resource does not exist"
	msgBadStateJSON  = "Parser: State JSON has bad format"
	msgCantReadState = "Storage: Cannot read state JSON"
	msgNoCommitMsg   = "No commit message"
	msgCommitMsgErr  = "Cannot write message"
)

// stepDate is the date format of GET /steps: upstream's
// "%Y-%m-%dT%H:%M:%SZ" applied to the local time (the Z is literal).
const stepDate = "2006-01-02T15:04:05Z"

// stepsZone is the time zone of GET /steps dates; nil means time.Local.
// Tests set it before starting a server.
var stepsZone *time.Location

// checkLocalName reports whether name may follow "locals/" in a step
// name: storage.CheckLocalName, the one rule storage and pvtx apply too.
func checkLocalName(name string) bool {
	return storage.CheckLocalName(name) == nil
}

// checkRemoteRev reports whether rev names a trail GET /steps/{rev} may
// read: "current" (the trails/current link) or a remote revision.
func checkRemoteRev(rev string) bool {
	return rev == "current" || (!strings.Contains(rev, "/") && storage.CheckRevision(rev) == nil)
}

// listSteps answers GET /steps with upstream's exact formatting: locals
// first, then remote revisions; each element
// {"name":"%s", "date":"%s", "commitmsg":"%s", "progress":%s}.
func (s *Server) listSteps(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	if s.Storage == nil {
		sendError(w, 500, msgStepsError)
		return
	}
	steps, err := s.Storage.Steps()
	if err != nil {
		s.logf("listing steps: " + err.Error())
		sendError(w, 500, msgStepsError)
		return
	}
	zone := stepsZone
	if zone == nil {
		zone = time.Local
	}
	sendJSON(w, appendSteps(nil, steps, zone))
}

// appendSteps appends the GET /steps array, dates in zone.
func appendSteps(b []byte, steps []storage.Step, zone *time.Location) []byte {
	b = append(b, '[')
	for i, st := range steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = rawjson.AppendString(b, st.Rev)
		b = append(b, `, "date":"`...)
		b = st.ModTime.In(zone).AppendFormat(b, stepDate)
		b = append(b, `", "commitmsg":`...)
		b = rawjson.AppendString(b, string(st.CommitMsg))
		b = append(b, `, "progress":`...)
		if len(st.Progress) == 0 {
			b = append(b, "{}"...)
		} else {
			b = append(b, st.Progress...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// getStep answers GET /steps/{rev}: the raw state JSON of the revision
// (current: the running one).
func (s *Server) getStep(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if !checkRemoteRev(args[0]) {
		sendError(w, 404, msgNoResource)
		return
	}
	s.sendTrailFile(w, args[0], ".pvr", "json")
}

// getLocalStep answers GET /steps/locals/{name}.
func (s *Server) getLocalStep(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if !checkLocalName(args[0]) {
		sendError(w, 404, msgNoResource)
		return
	}
	s.sendTrailFile(w, "locals/"+args[0], ".pvr", "json")
}

// getProgress answers GET /steps/{rev}/progress.
func (s *Server) getProgress(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if !checkRemoteRev(args[0]) {
		sendError(w, 404, msgNoResource)
		return
	}
	s.sendTrailFile(w, args[0], ".pv", storage.ProgressFile)
}

// getLocalProgress answers GET /steps/locals/{name}/progress.
func (s *Server) getLocalProgress(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if !checkLocalName(args[0]) {
		sendError(w, 404, msgNoResource)
		return
	}
	s.sendTrailFile(w, "locals/"+args[0], ".pv", storage.ProgressFile)
}

// sendTrailFile answers 200 with a file of trails/<rev>/ (a checked name;
// "current" follows the link) as JSON, or 404 when there is none.
func (s *Server) sendTrailFile(w *http1.Response, rev string, elem ...string) {
	if s.Storage == nil {
		sendError(w, 404, msgNoResource)
		return
	}
	f, err := os.Open(filepath.Join(append([]string{s.Storage.TrailPath(rev)}, elem...)...))
	if err != nil {
		sendError(w, 404, msgNoResource)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		sendError(w, 404, msgNoResource)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := w.WriteHeader(200, fi.Size()); err != nil {
		return
	}
	// The status is sent: a failure now can only close the connection,
	// which the response does.
	_, _ = io.CopyBuffer(w, io.LimitReader(f, fi.Size()), make([]byte, 32<<10))
}

// putLocalStep answers PUT /steps/locals/{name}: the body is read whole,
// its signatures are checked (secureboot: a refused state is answered 422
// "Secureboot: <reason>" and nothing is stored), then it is stored as the
// state of revision locals/<name>, not yet run (storage.PutState: progress
// NEW "Update ready to be run"; a state that does not parse is removed
// and answered 422).
func (s *Server) putLocalStep(w *http1.Response, r *http1.Request, _ *Caller, args []string) {
	if !checkLocalName(args[0]) {
		drainBody(r)
		sendError(w, 400, msgBadStep)
		return
	}
	if s.Storage == nil {
		drainBody(r)
		sendError(w, 500, msgUploadError)
		return
	}
	rev := "locals/" + args[0]
	err := s.store(r, func(body io.Reader) error {
		s.stateSlots <- struct{}{} // the body's read times out: a slot is not held for long
		defer func() { <-s.stateSlots }()
		data, err := readState(body, r.ContentLength)
		if err != nil {
			return printf.Errorf("storing state of %s: %w", rev, err)
		}
		if err := s.secureboot(data); err != nil {
			return printf.Errorf("storing state of %s: %w", rev, err)
		}
		_, err = s.Storage.PutState(rev, int64(len(data)), bytes.NewReader(data))
		return err
	})
	switch {
	case err == nil:
		sendOK(w)
	case errors.Is(err, storage.ErrTooBig), errors.Is(err, storage.ErrNoSpace):
		sendTooBig(w)
	case errors.Is(err, errSecureboot):
		sendError(w, 422, secureReason(err))
	case errors.Is(err, storage.ErrBadState):
		sendError(w, 422, msgBadStateJSON)
	case errors.Is(err, storage.ErrReadState):
		sendError(w, 422, msgCantReadState)
	default:
		sendError(w, 500, msgUploadError)
	}
}

// readState reads an uploaded state whole (to check its signatures before
// anything is stored), with storage.PutState's limits: a declared or
// actual size over state.MaxSize is storage.ErrTooBig, a body shorter or
// longer than its Content-Length storage.ErrReadState.
func readState(body io.Reader, size int64) ([]byte, error) {
	if size > state.MaxSize {
		return nil, printf.Errorf("%w: %d bytes", storage.ErrTooBig, size)
	}
	data, err := io.ReadAll(io.LimitReader(body, state.MaxSize+1))
	switch {
	case err != nil:
		return nil, err
	case len(data) > state.MaxSize:
		return nil, printf.Errorf("%w: over %d bytes", storage.ErrTooBig, state.MaxSize)
	case size >= 0 && int64(len(data)) != size:
		return nil, printf.Errorf("%w: got %d bytes, want %d", storage.ErrReadState, len(data), size)
	}
	return data, nil
}

// putCommitMsg answers PUT /steps/{rev}/commitmsg.
func (s *Server) putCommitMsg(w *http1.Response, r *http1.Request, _ *Caller, args []string) {
	rev := args[0]
	if !checkRemoteRev(rev) {
		rev = "" // no such trail: Cannot write message
	}
	s.commitMsg(w, r, rev)
}

// putLocalCommitMsg answers PUT /steps/locals/{name}/commitmsg.
func (s *Server) putLocalCommitMsg(w *http1.Response, r *http1.Request, _ *Caller, args []string) {
	if !checkLocalName(args[0]) {
		drainBody(r)
		sendError(w, 400, msgBadStep)
		return
	}
	s.commitMsg(w, r, "locals/"+args[0])
}

// commitMsg stores the body (at most 256 bytes, else 507) as the commit
// message of rev ("" for none: 500), atomically.
func (s *Server) commitMsg(w *http1.Response, r *http1.Request, rev string) {
	msg, err := readBody(r, storage.MaxCommitMsg)
	if err != nil {
		sendBodyError(w, err, msgNoCommitMsg)
		return
	}
	if len(msg) == 0 {
		sendError(w, 400, msgNoCommitMsg)
		return
	}
	if rev == "current" && s.Storage != nil {
		rev, err = s.Storage.Current()
	}
	if err == nil && (rev == "" || s.Storage == nil) {
		err = storage.ErrNoRevision
	}
	if err == nil {
		err = s.Storage.SetCommitMsg(rev, msg)
	}
	if err != nil {
		s.logf("commit message of " + rev + ": " + err.Error())
		sendError(w, 500, msgCommitMsgErr)
		return
	}
	sendOK(w)
}
