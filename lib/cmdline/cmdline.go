// Package cmdline parses the kernel command line into its parameters.
package cmdline

import (
	"io"
	"strings"

	"pantavisor/lib/printf"
)

// Param is one word of the command line: Key, and Value after '=' if any.
type Param struct {
	Key, Value string
	HasValue   bool
}

// Cmdline is the parsed command line, in order.
type Cmdline []Param

// Parse splits a command line as the kernel does: words separated by
// spaces, double quotes group spaces into a value and are removed.
func Parse(s string) Cmdline {
	var out Cmdline
	s = strings.TrimSpace(s)
	for len(s) > 0 {
		var word strings.Builder
		quoted := false
		i := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '"' {
				quoted = !quoted
				continue
			}
			if !quoted && (c == ' ' || c == '\t' || c == '\n') {
				break
			}
			word.WriteByte(c)
		}
		s = strings.TrimLeft(s[i:], " \t\n")
		k, v, ok := strings.Cut(word.String(), "=")
		out = append(out, Param{Key: k, Value: v, HasValue: ok})
	}
	return out
}

// Read parses the command line read from r (e.g. /proc/cmdline).
func Read(r io.Reader) (Cmdline, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return nil, printf.Errorf("reading kernel command line: %w", err)
	}
	return Parse(string(b)), nil
}

// Get returns the value of the last parameter named key, as the kernel lets
// a later word override an earlier one.
func (c Cmdline) Get(key string) (string, bool) {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].Key == key {
			return c[i].Value, true
		}
	}
	return "", false
}
