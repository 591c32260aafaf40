package proto

import "strconv"

// PendingStepsQuery is upstream's QUERY_PENDING_STEPS: the steps whose
// progress.status is NEW, DOWNLOADING, INPROGRESS, TESTING or QUEUED, i.e.
// progress.status={"$in":["NEW","DOWNLOADING","INPROGRESS","TESTING","QUEUED"]}
// URL-encoded exactly as upstream sends it.
const PendingStepsQuery = "progress.status=%7B%22$in%22:%5B%22NEW%22,%22DOWNLOADING%22,%22INPROGRESS%22,%22TESTING%22,%22QUEUED%22%5D%7D"

// Request paths without an id.
const (
	RegisterPath = "/devices/"
	LoginPath    = "/auth/login"
	TrailsPath   = "/trails/"
	ObjectsPath  = "/objects/"
	LogsPath     = "/logs/"
)

// The path builders below take an id that passed CheckID and a sha that
// passed CheckSha; they do no escaping.

// DevicePath is GET /devices/<id>.
func DevicePath(id string) string { return "/devices/" + id }

// UserMetaPath is GET /devices/<id>/user-meta.
func UserMetaPath(id string) string { return "/devices/" + id + "/user-meta" }

// DeviceMetaPath is PUT /devices/<id>/device-meta.
func DeviceMetaPath(id string) string { return "/devices/" + id + "/device-meta" }

// PendingStepsPath is GET /trails/<id>/steps?<PendingStepsQuery>.
func PendingStepsPath(id string) string { return "/trails/" + id + "/steps?" + PendingStepsQuery }

// ProgressPath is PUT /trails/<id>/steps/<rev>/progress.
func ProgressPath(id string, rev int64) string {
	return "/trails/" + id + "/steps/" + strconv.FormatInt(rev, 10) + "/progress"
}

// ObjectPath is GET /objects/<sha256>.
func ObjectPath(sha string) string { return "/objects/" + sha }
