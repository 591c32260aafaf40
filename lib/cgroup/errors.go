package cgroup

import "pantavisor/lib/sentinel"

// Sentinels that callers and tests branch on with errors.Is.
var (
	// ErrNoCgroup: no cgroup filesystem is mounted under the root.
	ErrNoCgroup error = &sentinel.Error{Text: "no cgroup hierarchy mounted"}
	// ErrBadName: a group or parent name is not a safe path component.
	ErrBadName error = &sentinel.Error{Text: "invalid cgroup name"}
	// ErrNoController: the controller a key needs is not available.
	ErrNoController error = &sentinel.Error{Text: "cgroup controller not available"}
	// ErrUnknownKey: the controller exists but has no such file.
	ErrUnknownKey error = &sentinel.Error{Text: "unknown cgroup key"}
	// ErrNoV2Equivalent: a v1 key has no cgroup2 translation.
	ErrNoV2Equivalent error = &sentinel.Error{Text: "cgroup v1 key has no cgroup2 equivalent"}
	// ErrNoUnified: the operation needs a cgroup2 hierarchy.
	ErrNoUnified error = &sentinel.Error{Text: "no cgroup2 hierarchy mounted"}
	// ErrKillTimeout: processes were still in the group when Kill gave up.
	ErrKillTimeout error = &sentinel.Error{Text: "cgroup still has processes"}
)
