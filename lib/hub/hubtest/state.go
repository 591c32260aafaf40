package hubtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Device is a registered device as the test sees it.
type Device struct {
	ID        string
	PRN       string
	Secret    string
	Nick      string
	Owner     string // "" until claimed (or registered with the auto-token)
	Challenge string // "" once claimed
}

// ProgressPut is one PUT /trails/<id>/steps/<rev>/progress, in arrival order.
type ProgressPut struct {
	Time      time.Time
	Status    string
	StatusMsg string
	Progress  int
	Body      []byte // the raw request body
}

// LogEntry is one fragment posted to /logs/.
type LogEntry struct {
	Tsec  int64
	Tnano int64
	Lvl   string
	Src   string
	Plat  string
	Rev   string // the JSON string, or a number's text
	Msg   string
}

type device struct {
	Device
	devMeta  map[string]any
	userMeta map[string]any
	trail    bool
	steps    map[int]*step
	logs     []LogEntry
}

type step struct {
	rev       int
	state     json.RawMessage
	commitMsg string
	progress  map[string]any // as stored by the hub (retries, logs dropped)
	history   []ProgressPut
}

type object struct {
	name string
	sha  string
	size int64
	data []byte // nil until uploaded
	// served counts body bytes written by GET /local-s3/.
	served int64
}

type session struct {
	prn   string
	id    string
	owner string // snapshot at login
}

type signed struct {
	sha string
	put bool
}

type state struct {
	autoToken string
	devices   map[string]*device // by id
	order     []string
	tokens    map[string]session
	objects   map[string]*object // by sha256 hex
	urls      map[string]signed  // opaque -> object
}

func newState() state {
	return state{
		devices: map[string]*device{},
		tokens:  map[string]session{},
		objects: map[string]*object{},
		urls:    map[string]signed{},
	}
}

// randHex returns n random bytes as hex.
func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// randLower returns n random lowercase letters.
func randLower(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

var words = [...]string{"gently", "living", "swine", "brave", "quiet", "donkey", "amber", "rapid", "noble", "otter"}

func word() string {
	b := make([]byte, 1)
	rand.Read(b)
	return words[int(b[0])%len(words)]
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// AutoToken sets the factory auto-token that POST /devices/ accepts in the
// Pantahub-Devices-Auto-Token-V1 header ("" accepts none). A device
// registered with it gets owner UserPRN and no challenge; a wrong token
// gets 400.
func (h *Hub) AutoToken(token string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.st.autoToken = token
}

// Claim claims the device for UserPRN as a user answering its challenge
// would: sets the owner, clears the challenge, renames an unregistered
// nick. The device's tokens keep the old (empty) owner until it logs in
// again.
func (h *Hub) Claim(deviceID string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil {
		return ErrNotFound
	}
	d.Owner, d.Challenge, d.Nick = UserPRN, "", word()+"_"+randLower(4)
	return nil
}

// Devices returns the registered devices in registration order.
func (h *Hub) Devices() []Device {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Device, 0, len(h.st.order))
	for _, id := range h.st.order {
		out = append(out, h.st.devices[id].Device)
	}
	return out
}

// AddObject stores data as an uploaded object (as a user's pvr post
// would) and returns its sha256 in hex.
func (h *Hub) AddObject(data []byte) string {
	sha := shaHex(data)
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.st.objects[sha]
	if o == nil {
		o = &object{sha: sha, name: sha}
		h.st.objects[sha] = o
	}
	o.data, o.size = append([]byte(nil), data...), int64(len(data))
	return sha
}

// PostStep posts step rev (-1: the next one) of the device's trail with
// status NEW, as a user's POST /trails/<id>/steps would. Like
// pantahub-base it needs the trail, step rev-1 and every object the state
// names; state must be a JSON object.
func (h *Hub) PostStep(deviceID string, rev int, state []byte, commitMsg string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(state, &m); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil || !d.trail {
		return ErrNotFound
	}
	if rev < 0 {
		rev = len(d.steps)
	}
	if d.steps[rev-1] == nil || d.steps[rev] != nil {
		return ErrBadStep
	}
	for k, v := range m {
		if k == "#spec" || isJSONKey(k) {
			continue
		}
		var sha string
		if json.Unmarshal(v, &sha) != nil || h.st.objects[sha] == nil || h.st.objects[sha].data == nil {
			return ErrMissingObject
		}
	}
	d.steps[rev] = &step{rev: rev, state: append(json.RawMessage(nil), state...), commitMsg: commitMsg,
		progress: newProgress("NEW")}
	return nil
}

// SetUserMeta replaces the device's user-meta that GET
// /devices/<id>/user-meta answers.
func (h *Hub) SetUserMeta(deviceID string, meta map[string]any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil {
		return ErrNotFound
	}
	d.userMeta = copyMap(meta)
	return nil
}

// DeviceMeta returns a copy of the device-meta the device uploaded (nil for
// an unknown device).
func (h *Hub) DeviceMeta(deviceID string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil {
		return nil
	}
	return copyMap(d.devMeta)
}

// Progress returns the history of progress PUTs of step rev, oldest first
// (nil if there were none).
func (h *Hub) Progress(deviceID string, rev int) []ProgressPut {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil || d.steps[rev] == nil {
		return nil
	}
	return append([]ProgressPut(nil), d.steps[rev].history...)
}

// StepStatus returns the current progress.status of step rev ("" if there
// is no such step).
func (h *Hub) StepStatus(deviceID string, rev int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil || d.steps[rev] == nil {
		return ""
	}
	s, _ := d.steps[rev].progress["status"].(string)
	return s
}

// Logs returns the log fragments the device posted, in order.
func (h *Hub) Logs(deviceID string) []LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.st.devices[deviceID]
	if d == nil {
		return nil
	}
	return append([]LogEntry(nil), d.logs...)
}

// BytesServed returns how many bytes of object sha GET /local-s3/ wrote
// in all, over every response.
func (h *Hub) BytesServed(sha string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o := h.st.objects[sha]; o != nil {
		return o.served
	}
	return 0
}

// Object returns the stored bytes of object sha (nil if not uploaded).
func (h *Hub) Object(sha string) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o := h.st.objects[sha]; o != nil && o.data != nil {
		return append([]byte(nil), o.data...)
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isJSONKey(k string) bool { return len(k) > 5 && k[len(k)-5:] == ".json" }

func newProgress(status string) map[string]any {
	return map[string]any{
		"progress": 0, "status": status, "status-msg": "", "log": "",
		"downloads": map[string]any{"objects": nil, "total": map[string]any{
			"current_time": 0, "start_time": 0, "total_downloaded": 0, "total_size": 0}},
	}
}
