package swap

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"pantavisor/lib/mount"
	"pantavisor/lib/printf"
)

// Area is one line of /proc/swaps.
type Area struct {
	Filename, Type   string
	SizeKiB, UsedKiB int64
	Priority         int
}

// ParseSwaps reads /proc/swaps: a header line, then "filename type size
// used priority" (sizes in KiB); the kernel escapes blanks in the name
// as \040 (and \t, \n, \\ likewise).
func ParseSwaps(r io.Reader) ([]Area, error) {
	s := bufio.NewScanner(r)
	var out []Area
	for line := 0; s.Scan(); line++ {
		f := strings.Fields(s.Text())
		if line == 0 || len(f) == 0 {
			continue
		}
		if len(f) != 5 {
			return nil, printf.Errorf("swap: /proc/swaps line %d: %d fields, want 5", line+1, len(f))
		}
		var a Area
		var err error
		a.Filename, a.Type = mount.Unescape(f[0]), f[1]
		if a.SizeKiB, err = strconv.ParseInt(f[2], 10, 64); err == nil {
			if a.UsedKiB, err = strconv.ParseInt(f[3], 10, 64); err == nil {
				a.Priority, err = strconv.Atoi(f[4])
			}
		}
		if err != nil {
			return nil, printf.Errorf("swap: /proc/swaps line %d: %w", line+1, err)
		}
		out = append(out, a)
	}
	return out, s.Err()
}
