package eintr

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// interrupted returns a call that fails with errs in turn, then with last,
// and counts its calls.
func interrupted(errs []error, last error, calls *int) func() error {
	return func() error {
		*calls++
		if *calls <= len(errs) {
			return errs[*calls-1]
		}
		return last
	}
}

func TestRetry(t *testing.T) {
	wrapped := fmt.Errorf("open x: %w", syscall.EINTR)
	for _, tc := range []struct {
		name      string
		errs      []error
		last      error
		wantCalls int
	}{
		{"success at once", nil, nil, 1},
		{"other error at once", nil, syscall.EBUSY, 1},
		{"EINTR then success", []error{syscall.EINTR, syscall.EINTR}, nil, 3},
		{"EINTR then other error", []error{syscall.EINTR}, syscall.ENOENT, 2},
		{"wrapped EINTR retried", []error{wrapped}, nil, 2},
		{"EAGAIN not retried", nil, syscall.EAGAIN, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := Retry(interrupted(tc.errs, tc.last, &calls))
			if err != tc.last {
				t.Errorf("Retry = %v, want %v", err, tc.last)
			}
			if calls != tc.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
		})
	}
}

func TestValue(t *testing.T) {
	calls := 0
	n, err := Value(func() (int, error) {
		calls++
		if calls < 3 {
			return -1, syscall.EINTR
		}
		return 42, nil
	})
	if n != 42 || err != nil || calls != 3 {
		t.Errorf("Value = %d, %v after %d calls, want 42, nil after 3", n, err, calls)
	}
	n, err = Value(func() (int, error) { return -1, syscall.EPERM })
	if n != -1 || !errors.Is(err, syscall.EPERM) {
		t.Errorf("Value = %d, %v, want -1, EPERM", n, err)
	}
}
