package engine

import (
	"bytes"

	"pantavisor/lib/printf"
	"pantavisor/lib/state"
)

// Changes compares the running state cur with next key by key (reference
// §3.4) and says whether moving to next needs a reboot. Every key whose
// value (a json's raw text, an object's sha) was modified, deleted or
// added is blamed on its owner:
//   - no owner (bsp/*, device.json, groups/disks jsons, root-level files,
//     _config/<x> for an unknown x) ⇒ reboot;
//   - a container whose restart_policy is not "container" in cur or in
//     next ⇒ reboot;
//   - a container with policy "container" ⇒ it is in changed.
//
// Ignored keys (_sigs/*, */src.json, */build.json) and "#spec" never
// count. reason names the first key forcing the reboot ("" without one).
// changed lists each container once: those of next in next's order, then
// those only in cur (removed) in cur's order; it is nil when reboot.
func Changes(cur, next *state.State) (reboot bool, changed []string, reason string) {
	curKeys, nextKeys := keyIndex(cur), keyIndex(next)
	touched := map[string]bool{}
	blameKey := func(a, b *state.Key) bool {
		if !keyChanged(a, b) {
			return false
		}
		owner, why := blame(cur, next, a, b)
		if why != "" {
			reason = why
			return true
		}
		touched[owner] = true
		return false
	}
	for i := range cur.Keys {
		k := &cur.Keys[i]
		if blameKey(k, nextKeys[k.Name]) {
			return true, nil, reason
		}
	}
	for i := range next.Keys {
		k := &next.Keys[i]
		if curKeys[k.Name] == nil && blameKey(nil, k) {
			return true, nil, reason
		}
	}
	return false, inStateOrder(cur, next, touched), ""
}

func keyIndex(st *state.State) map[string]*state.Key {
	m := make(map[string]*state.Key, len(st.Keys))
	for i := range st.Keys {
		m[st.Keys[i].Name] = &st.Keys[i]
	}
	return m
}

// invisible: keys a transition never looks at.
func invisible(k *state.Key) bool {
	return k == nil || k.Class == state.ClassIgnored || k.Class == state.ClassSpec
}

// keyChanged: a visible key was added, deleted or given another value.
func keyChanged(a, b *state.Key) bool {
	if invisible(a) && invisible(b) {
		return false
	}
	if a == nil || b == nil || invisible(a) != invisible(b) {
		return true
	}
	if a.Value.Kind != b.Value.Kind {
		return true
	}
	if a.Class == state.ClassObject {
		return a.Value.Str != b.Value.Str
	}
	return !bytes.Equal(a.Value.Raw, b.Value.Raw)
}

// blame returns the container a changed key belongs to, or why its
// change forces a reboot. a (cur) or b (next) may be nil.
func blame(cur, next *state.State, a, b *state.Key) (owner, why string) {
	k := a
	if a == nil {
		k = b
	}
	switch {
	case a != nil && b != nil && a.Owner != b.Owner:
		return "", printf.Sprintf("%s changed owner (%q to %q)", a.Name, a.Owner, b.Owner)
	case a != nil:
		owner = a.Owner
	default:
		owner = b.Owner
	}
	if owner == "" {
		return "", k.Name + " changed and belongs to the system"
	}
	for _, st := range []*state.State{cur, next} {
		if c := st.Container(owner); c != nil && c.RestartPolicy != state.PolicyContainer {
			return "", printf.Sprintf("%s changed and container %s has restart_policy %q", k.Name, owner, c.RestartPolicy)
		}
	}
	return owner, ""
}

// inStateOrder lists the touched containers: next's order, then the ones
// only cur has.
func inStateOrder(cur, next *state.State, touched map[string]bool) []string {
	var out []string
	for _, c := range next.Containers {
		if touched[c.Name] {
			out = append(out, c.Name)
		}
	}
	for _, c := range cur.Containers {
		if touched[c.Name] && next.Container(c.Name) == nil {
			out = append(out, c.Name)
		}
	}
	return out
}
