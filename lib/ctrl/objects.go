package ctrl

import (
	"errors"
	"io"
	"strconv"

	"pantavisor/lib/http1"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// storageRoutes are the routes of the storage: objects, steps and the
// garbage collector (reference pantavisor-control §2 rows 6-14). The
// locals templates come before the /steps/{}/... ones they overlap
// (/steps/locals/progress is the local step "progress").
var storageRoutes = [...]route{
	{"POST", "/storage/gc", (*Server).storageGC, false},
	{"GET", "/objects", (*Server).listObjects, false},
	{"GET", "/objects/{}", (*Server).getObject, false},
	{"PUT", "/objects/{}", (*Server).putObject, false},
	{"GET", "/steps", (*Server).listSteps, false},
	{"GET", "/steps/locals/{}", (*Server).getLocalStep, false},
	{"PUT", "/steps/locals/{}", (*Server).putLocalStep, false},
	{"GET", "/steps/locals/{}/progress", (*Server).getLocalProgress, false},
	{"PUT", "/steps/locals/{}/commitmsg", (*Server).putLocalCommitMsg, false},
	{"GET", "/steps/{}", (*Server).getStep, false},
	{"GET", "/steps/{}/progress", (*Server).getProgress, false},
	{"PUT", "/steps/{}/commitmsg", (*Server).putCommitMsg, false},
}

// Error texts of the object routes (upstream's).
const (
	msgBadObject    = "Request has bad object name"
	msgBadChecksum  = "Object has bad checksum"
	msgUploadError  = "Upload error"
	msgObjectsError = "couldn't get device objects"
	msgObjectError  = "Object allocation error"
)

// chunkSize is the piece size of object downloads, as upstream's.
const chunkSize = 4096

// listObjects answers GET /objects:
// [{"sha256":"<hex>","size":"<decimal>"},...] (size is a string).
func (s *Server) listObjects(w *http1.Response, _ *http1.Request, _ *Caller, _ []string) {
	if s.Storage == nil {
		sendError(w, 500, msgObjectsError)
		return
	}
	objs, err := s.Storage.Objects()
	if err != nil {
		s.logf("listing objects: " + err.Error())
		sendError(w, 500, msgObjectsError)
		return
	}
	b := make([]byte, 0, 2+len(objs)*100)
	b = append(b, '[')
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sha256":`...)
		b = rawjson.AppendString(b, o.SHA)
		b = append(b, `,"size":"`...)
		b = strconv.AppendInt(b, o.Size, 10)
		b = append(b, `"}`...)
	}
	sendJSON(w, append(b, ']'))
}

// getObject answers GET /objects/{sha}: the object's bytes, streamed in
// 4096-byte pieces (chunked on HTTP/1.1, until close on 1.0). A bad name
// or a missing object is 400, as upstream.
func (s *Server) getObject(w *http1.Response, _ *http1.Request, _ *Caller, args []string) {
	if s.Storage == nil {
		sendError(w, 500, msgObjectError)
		return
	}
	f, err := s.Storage.OpenObject(args[0])
	if errors.Is(err, storage.ErrMissingObject) {
		sendError(w, 400, msgBadObject)
		return
	}
	if err != nil {
		s.logf("opening object: " + err.Error())
		sendError(w, 500, msgObjectError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := w.WriteHeader(200, -1); err != nil {
		return
	}
	buf := make([]byte, chunkSize)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				s.logf("reading object " + args[0] + ": " + err.Error())
			}
			return
		}
	}
}

// putObject answers PUT /objects/{sha}: the body is stored as the object,
// verified against its name (see storage.InstallObject). An object
// already stored answers 200 without being written again.
func (s *Server) putObject(w *http1.Response, r *http1.Request, _ *Caller, args []string) {
	sha := args[0]
	if !state.IsSHA256(sha) {
		drainBody(r)
		sendError(w, 400, msgBadObject)
		return
	}
	if s.Storage == nil {
		drainBody(r)
		sendError(w, 500, msgUploadError)
		return
	}
	err := s.store(r, func(body io.Reader) error {
		_, err := s.Storage.InstallObject(sha, r.ContentLength, body)
		return err
	})
	switch {
	case err == nil:
		sendOK(w)
	case errors.Is(err, storage.ErrHash):
		sendError(w, 422, msgBadChecksum)
	case errors.Is(err, storage.ErrNoSpace):
		sendTooBig(w)
	default:
		sendError(w, 500, msgUploadError)
	}
}

// store streams the request body into the storage with put, logs a
// failure, and reads what put left of the body, so the answer can follow.
func (s *Server) store(r *http1.Request, put func(body io.Reader) error) error {
	body := &readTracker{r: r.Body}
	err := put(body)
	if err != nil {
		s.logf(r.Method + " " + r.Target + ": " + err.Error())
	}
	if body.read {
		_, _ = io.Copy(io.Discard, r.Body) // drain; the reply is already chosen
	} else {
		drainBody(r)
	}
	return err
}

// readTracker records whether a body was read at all.
type readTracker struct {
	r    io.Reader
	read bool
}

func (t *readTracker) Read(p []byte) (int, error) { t.read = true; return t.r.Read(p) }

// drainBody reads what is left of a request body, so that a client still
// sending reads the answer instead of a broken pipe. A client waiting for
// "100 Continue" has sent nothing and is not asked to.
func drainBody(r *http1.Request) {
	if r.Proto == "HTTP/1.1" && r.Header.Get("Expect") != "" {
		return
	}
	_, _ = io.Copy(io.Discard, r.Body) // drain; the reply is already chosen
}
