package proto

import (
	"bytes"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Step is the pending step the device acts on. Progress and State are the
// exact bytes of the hub's JSON values (State is kept byte-exact for the
// signature check and for storage); Progress is nil when the step had no
// progress object.
type Step struct {
	Rev       int64
	Progress  []byte
	State     []byte
	CommitMsg string
}

// ParseSteps parses the answer to the pending-steps query
// (PendingStepsPath): an array whose first element is the step to act on;
// ok is false for an empty array. The first element must be an object with
// "rev" an integer ≥ 0 and "state" an object. "progress" is kept when it is
// an object and otherwise left nil (the local progress file takes over, as
// upstream falls back to it); "commit-msg" is kept when it is a string.
func ParseSteps(data []byte) (s Step, ok bool, err error) {
	const what = "pending steps"
	v, err := rawjson.Parse(data)
	if err != nil {
		return Step{}, false, printf.Errorf("%w: %s: %w", ErrAnswer, what, err)
	}
	if v.Kind != rawjson.Array {
		return Step{}, false, answerErr(what, "want an array, got "+v.Kind.String())
	}
	if len(v.Items) == 0 {
		return Step{}, false, nil
	}
	st := v.Items[0]
	if st.Kind != rawjson.Object {
		return Step{}, false, answerErr(what, "step is a "+st.Kind.String()+", want an object")
	}
	rev, found := st.Get("rev")
	if !found {
		return Step{}, false, answerErr(what, "step has no rev")
	}
	if s.Rev, err = rev.Int(); err != nil || s.Rev < 0 {
		return Step{}, false, answerErr(what, printf.Sprintf("rev %s: want an integer ≥ 0", clip(string(rev.Raw), 40)))
	}
	state, found := st.Get("state")
	if !found {
		return Step{}, false, answerErr(what, printf.Sprintf("rev %d: step has no state", s.Rev))
	}
	if state.Kind != rawjson.Object {
		return Step{}, false, answerErr(what, printf.Sprintf("rev %d: state is a %s, want an object", s.Rev, state.Kind))
	}
	s.State = bytes.Clone(state.Raw)
	if p, found := st.Get("progress"); found && p.Kind == rawjson.Object {
		s.Progress = bytes.Clone(p.Raw)
	}
	if m, found := st.Get("commit-msg"); found && m.Kind == rawjson.String {
		s.CommitMsg = m.Str
	}
	return s, true, nil
}
