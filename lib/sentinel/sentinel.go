// Package sentinel is the error type of package-level sentinels in
// packages built without inlining (buildflags/flags.txt):
//
//	var ErrX error = &sentinel.Error{Text: "what went wrong"}
//
// is static data in every build, while var ErrX = errors.New("...") is
// static only when errors.New is inlined into the package; without
// inlining it runs at init time (dispatch's TestNoInitWork). Like
// errors.New's, each sentinel is its own value: errors.Is matches it by
// address, never by its text.
package sentinel

// Error is a sentinel error: a text, compared by address.
type Error struct{ Text string }

// Error returns the text.
func (e *Error) Error() string { return e.Text }
