// Package eintr retries a system call that was interrupted by a signal
// (EINTR), so each syscall wrapper retries in one line instead of a loop.
package eintr

import (
	"errors"
	"syscall"
)

// Retry calls f until it returns something other than EINTR (nil
// included) and returns that. f must be safe to repeat: a call that
// failed with EINTR had no effect.
func Retry(f func() error) error {
	for {
		err := f()
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Value is Retry for a call that also returns a value: the value of the
// first call that did not fail with EINTR.
func Value[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if !errors.Is(err, syscall.EINTR) {
			return v, err
		}
	}
}
