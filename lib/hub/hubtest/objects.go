package hubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// postObject answers POST /objects/: 409 if the bytes are there, else a
// signed PUT URL.
func (h *Hub) postObject(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, ok := h.authOwned(w, r); !ok {
		return
	}
	var req struct {
		Name string `json:"objectname"`
		Size string `json:"size"`
		Sha  string `json:"sha256sum"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		restError(w, http.StatusBadRequest, "bad object: "+err.Error())
		return
	}
	size, err := strconv.ParseInt(req.Size, 10, 64)
	if err != nil || size < 0 || len(req.Sha) != 64 {
		restError(w, http.StatusBadRequest, "bad object size or sha256sum")
		return
	}
	o := h.st.objects[req.Sha]
	if o != nil && o.data != nil {
		restError(w, http.StatusConflict, "Cannot insert existing object into database")
		return
	}
	if o == nil {
		o = &object{sha: req.Sha}
		h.st.objects[req.Sha] = o
	}
	o.name, o.size = req.Name, size
	writeJSON(w, http.StatusOK, h.objectJSON(o, r.Host))
}

// objectJSON is the object as pantahub-base answers it, with fresh signed
// URLs (no query string) for this request's host.
func (h *Hub) objectJSON(o *object, host string) map[string]any {
	base := "https://" + h.publicAddr(host) + "/local-s3/"
	put, get := randHex(16), randHex(16)
	h.st.urls[put] = signed{sha: o.sha, put: true}
	h.st.urls[get] = signed{sha: o.sha}
	return map[string]any{
		"id": o.sha, "storage-id": shaHex([]byte(UserPRN + "/" + o.sha)), "owner": UserPRN,
		"objectname": o.name, "sha256sum": o.sha, "size": strconv.FormatInt(o.size, 10), "sizeint": o.size,
		"mime-type": "", "signed-puturl": base + put, "signed-geturl": base + get,
		"now": strconv.FormatInt(time.Now().Unix(), 10), "expire-time": "15",
	}
}

func (h *Hub) getObject(w http.ResponseWriter, r *http.Request, sha string) {
	if _, ok := h.authOwned(w, r); !ok {
		return
	}
	o := h.st.objects[sha]
	if o == nil || o.data == nil {
		restError(w, http.StatusNotFound, "Not Accessible Resource Id")
		return
	}
	writeJSON(w, http.StatusOK, h.objectJSON(o, r.Host))
}

// upload stores PUT /local-s3/<opaque> after checking length and sha256.
func (h *Hub) upload(w http.ResponseWriter, opaque string, body []byte) {
	u, ok := h.st.urls[opaque]
	o := h.st.objects[u.sha]
	if !ok || !u.put || o == nil {
		restError(w, http.StatusForbidden, "bad signed url")
		return
	}
	if int64(len(body)) != o.size || shaHex(body) != o.sha {
		restError(w, http.StatusBadRequest, fmt.Sprintf("object does not match: %d bytes, sha256 %s", len(body), shaHex(body)))
		return
	}
	o.data = body
	writeJSON(w, http.StatusOK, statusOK)
}

// parseRange reads "bytes=N-" (the only form the hub supports); ok is
// false for anything else.
func parseRange(v string) (int64, bool) {
	s, ok := strings.CutPrefix(v, "bytes=")
	if !ok || !strings.HasSuffix(s, "-") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "-"), 10, 64)
	return n, err == nil && n >= 0
}
