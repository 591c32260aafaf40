package cgroup

import "errors"

// Sentinels that callers and tests branch on with errors.Is.
var (
	// ErrNoCgroup: no cgroup filesystem is mounted under the root.
	ErrNoCgroup = errors.New("no cgroup hierarchy mounted")
	// ErrBadName: a group or parent name is not a safe path component.
	ErrBadName = errors.New("invalid cgroup name")
	// ErrNoController: the controller a key needs is not available.
	ErrNoController = errors.New("cgroup controller not available")
	// ErrUnknownKey: the controller exists but has no such file.
	ErrUnknownKey = errors.New("unknown cgroup key")
	// ErrNoV2Equivalent: a v1 key has no cgroup2 translation.
	ErrNoV2Equivalent = errors.New("cgroup v1 key has no cgroup2 equivalent")
	// ErrNoUnified: the operation needs a cgroup2 hierarchy.
	ErrNoUnified = errors.New("no cgroup2 hierarchy mounted")
	// ErrKillTimeout: processes were still in the group when Kill gave up.
	ErrKillTimeout = errors.New("cgroup still has processes")
)
