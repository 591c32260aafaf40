package meta

import (
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrReadOnly is returned by ClientSet and ClientDelete for a device-meta
// key that Pantavisor publishes (see Published).
var ErrReadOnly error = &sentinel.Error{Text: "metadata key is published by pantavisor"}

// publishedPrefixes are the namespaces Pantavisor owns in device-meta:
// every key under them is Pantavisor's (pantavisor.status, .revision,
// .mode, .arch, …; pantahub.online, .claimed, .state, .address), including
// keys a later version may add.
var publishedPrefixes = [...]string{"pantavisor.", "pantahub."}

// publishedKeys are the top-level device-meta keys Pantavisor publishes
// (System computes them).
var publishedKeys = [...]string{KeySysinfo, KeyStorage, KeyTime, KeyInterfaces}

// Published reports whether key is a device-meta key Pantavisor
// publishes, which clients may read but neither write nor delete: every
// key under "pantavisor." and "pantahub.", and sysinfo, storage, time and
// interfaces.
func Published(key string) bool {
	for _, p := range publishedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	for _, k := range publishedKeys {
		if key == k {
			return true
		}
	}
	return false
}

// clientCheck refuses a client's change of a published device-meta key.
func (s *Store) clientCheck(key string) error {
	if s.Kind == Device && Published(key) {
		return printf.Errorf("%s %q: %w", s.Kind, key, ErrReadOnly)
	}
	return nil
}

// ClientSet is Set for a write that comes from a client (the control
// socket, a command's payload) rather than from Pantavisor: on the
// device-meta store a Published key is refused with an error wrapping
// ErrReadOnly and nothing is written. User-meta keys all belong to the
// user.
func (s *Store) ClientSet(key, value string) error {
	if err := s.clientCheck(key); err != nil {
		return err
	}
	return s.Set(key, value)
}

// ClientDelete is Delete for a client: on the device-meta store a
// Published key is refused with an error wrapping ErrReadOnly (whether it
// is set or not) and nothing is removed.
func (s *Store) ClientDelete(key string) error {
	if err := s.clientCheck(key); err != nil {
		return err
	}
	return s.Delete(key)
}
