package meta

import (
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Kind tells the two metadata stores apart.
type Kind uint8

// The metadata kinds. Device is the zero Kind.
const (
	Device Kind = iota // device-meta: written by Pantavisor and containers, pushed to the Hub
	User               // user-meta: written by the user or the Hub, applied as META config
)

// String returns the kind's directory name: "device-meta" or "user-meta".
func (k Kind) String() string {
	if k == User {
		return "user-meta"
	}
	return "device-meta"
}

// Limits on keys and values.
const (
	// MaxKey bounds a key's length in bytes, leaving room for the
	// temporary ".<key>.tmp" name within NAME_MAX (255).
	MaxKey = 200
	// MaxValue bounds a value's length in bytes (the control socket
	// accepts at most 4096; the Hub and Load are held to this).
	MaxValue = 64 << 10
)

// Errors callers branch on.
var (
	ErrInvalidKey    error = &sentinel.Error{Text: "invalid metadata key"}
	ErrValueTooLarge error = &sentinel.Error{Text: "metadata value too large"}
	ErrNotFound      error = &sentinel.Error{Text: "metadata key not found"}
)

// CheckKey validates a key. A key is a file name in the store and, split
// at its first dot, a container directory and a file name in it, so it
// must be non-empty, at most MaxKey bytes, free of '/', NUL and other
// control characters, must not contain "..", and must neither start nor
// end with '.' (which would name the directory itself, a hidden temporary
// file or an empty container name).
func CheckKey(key string) error {
	why := ""
	switch {
	case key == "":
		why = "empty"
	case len(key) > MaxKey:
		why = printf.Sprintf("%d bytes, at most %d", len(key), MaxKey)
	case strings.Contains(key, ".."):
		why = `contains ".."`
	case key[0] == '.':
		why = "starts with '.'"
	case key[len(key)-1] == '.':
		why = "ends with '.'"
	default:
		for i := 0; i < len(key); i++ {
			if c := key[i]; c == '/' {
				why = "contains '/'"
				break
			} else if c < 0x20 || c == 0x7f {
				why = printf.Sprintf("contains control character 0x%02x", c)
				break
			}
		}
	}
	if why == "" {
		return nil
	}
	if len(key) > MaxKey {
		key = key[:MaxKey] + "…"
	}
	return printf.Errorf("%w %q: %s", ErrInvalidKey, key, why)
}

// checkValue bounds a value's size.
func checkValue(key, value string) error {
	if len(value) > MaxValue {
		return printf.Errorf("%w: key %q has %d bytes, at most %d", ErrValueTooLarge, key, len(value), MaxValue)
	}
	return nil
}

// SplitKey splits a valid key "<c>.<k>" at its first dot into the
// container name and the key the container sees. ok is false for a key
// without a dot, which no container view shows.
func SplitKey(key string) (container, sub string, ok bool) {
	return strings.Cut(key, ".")
}
