package pid1

import (
	"io"
	"os"
	"strings"
)

// ProcField returns the value of the "<field>" line of a /proc file (field
// includes its colon: "VmRSS:"), "?" when the file or the line is missing.
func ProcField(path, field string) string {
	f, err := os.Open(path)
	if err != nil {
		return "?"
	}
	defer f.Close()
	return procField(f, field)
}

// procField is ProcField on the file's content.
func procField(r io.Reader, field string) string {
	data, err := io.ReadAll(r)
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
