package proto

import (
	"errors"
	"strings"
	"testing"
)

// stepAnswer is the reference's step, with the state written with odd
// spacing that must survive byte for byte.
const stepState = `{"#spec":"pantavisor-service-system@1",  "bsp/kernel.img":"d313e3","bsp/run.json":{ "linux" : "kernel.img" }}`
const stepProgress = `{"downloads":{"objects":null,"total":{"current_time":0,"start_time":0,"total_downloaded":0,"total_size":0}},"log":"","progress":0,"status":"NEW","status-msg":""}`
const stepAnswer = `[{"commit-msg":"new kernel","committer":"","device":"prn:::devices:/6b0749a7686c826fd54f419c","garbage":false,
 "id":"6b0749a7686c826fd54f419c-1","mark_public_processed":false,"meta":{},"owner":"prn:pantahub.com:auth:/user1",
 "progress":` + stepProgress + `,
 "progress-time":"1970-01-01T00:00:00Z","rev":1,
 "state":` + stepState + `,
 "state-sha":"7aa3e0","trail-id":"6b0749a7686c826fd54f419c","used_objects":["x"]},
 {"rev":2,"state":{}}]`

func TestParseSteps(t *testing.T) {
	body := []byte(stepAnswer)
	s, ok, err := ParseSteps(body)
	if err != nil || !ok {
		t.Fatalf("got %v, %v", ok, err)
	}
	if s.Rev != 1 || s.CommitMsg != "new kernel" || string(s.State) != stepState || string(s.Progress) != stepProgress {
		t.Fatalf("got %+v", s)
	}
	for i := range body {
		body[i] = 'x' // the step must not alias the body
	}
	if string(s.State) != stepState || string(s.Progress) != stepProgress {
		t.Fatal("step aliases the answer body")
	}

	if _, ok, err := ParseSteps([]byte(" [] ")); ok || err != nil {
		t.Fatalf("empty: got %v, %v", ok, err)
	}
	s, ok, err = ParseSteps([]byte(`[{"rev":0,"state":{},"progress":"x","commit-msg":3}]`))
	if err != nil || !ok || s.Rev != 0 || s.Progress != nil || s.CommitMsg != "" || string(s.State) != "{}" {
		t.Fatalf("lenient members: got %+v, %v, %v", s, ok, err)
	}
	for _, tc := range []struct{ name, body, err string }{
		{"not json", `[{"rev":1,`, "invalid JSON"},
		{"object", `{"rev":1,"state":{}}`, "want an array, got object"},
		{"step not object", `[1]`, "step is a number"},
		{"no rev", `[{"state":{}}]`, "no rev"},
		{"rev string", `[{"rev":"1","state":{}}]`, `rev "1"`},
		{"rev negative", `[{"rev":-1,"state":{}}]`, "rev -1"},
		{"rev fraction", `[{"rev":1.5,"state":{}}]`, "rev 1.5"},
		{"rev huge", `[{"rev":99999999999999999999,"state":{}}]`, "want an integer"},
		{"no state", `[{"rev":1}]`, "no state"},
		{"state string", `[{"rev":1,"state":"{}"}]`, "state is a string"},
		{"state null", `[{"rev":1,"state":null}]`, "state is a null"},
		{"state array", `[{"rev":1,"state":[]}]`, "state is a array"},
	} {
		_, _, err := ParseSteps([]byte(tc.body))
		if !errors.Is(err, ErrAnswer) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestPaths(t *testing.T) {
	const id = "6b0749a7686c826fd54f419c"
	for got, want := range map[string]string{
		PendingStepsPath(id): `/trails/6b0749a7686c826fd54f419c/steps?progress.status=%7B%22$in%22:%5B%22NEW%22,%22DOWNLOADING%22,%22INPROGRESS%22,%22TESTING%22,%22QUEUED%22%5D%7D`,
		ProgressPath(id, 12): "/trails/6b0749a7686c826fd54f419c/steps/12/progress",
		DevicePath(id):       "/devices/6b0749a7686c826fd54f419c",
		UserMetaPath(id):     "/devices/6b0749a7686c826fd54f419c/user-meta",
		DeviceMetaPath(id):   "/devices/6b0749a7686c826fd54f419c/device-meta",
		ObjectPath("ab"):     "/objects/ab",
	} {
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
