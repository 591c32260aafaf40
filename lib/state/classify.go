package state

import (
	"errors"
	"strings"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
)

// Class is what a top-level key is, as upstream's system1 parser decides.
type Class uint8

// The key classes, in the order upstream tests them.
const (
	ClassObject     Class = iota // value is the sha256 of a blob
	ClassSpec                    // "#spec"
	ClassBSPRun                  // "bsp/run.json"
	ClassBSPDrivers              // "bsp/drivers.json"
	ClassDevice                  // "device.json"
	ClassGroups                  // "groups.json" (legacy)
	ClassDisks                   // "disks.json", "disks_v3.json" (legacy)
	ClassRun                     // "<c>/run.json"
	ClassServices                // "<c>/services.json"
	ClassIgnored                 // "*/src.json", "*/build.json", "_sigs/*": not installed
	ClassJSON                    // any other inline json
)

var classNames = [...]string{"object", "spec", "bsp-run", "bsp-drivers", "device", "groups", "disks",
	"run", "services", "ignored", "json"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return printf.Sprintf("class(%d)", int(c))
}

// Classify returns the class of key name with value v, or why v cannot be
// the value of such a key.
func Classify(name string, v rawjson.Value) (Class, error) {
	switch name {
	case "#spec":
		return ClassSpec, nil
	case "bsp/run.json":
		return ClassBSPRun, wantKind(v, rawjson.Object)
	case "bsp/drivers.json":
		return ClassBSPDrivers, wantKind(v, rawjson.Object)
	case "device.json":
		return ClassDevice, wantKind(v, rawjson.Object)
	case "groups.json":
		return ClassGroups, wantKind(v, rawjson.Array)
	case "disks.json", "disks_v3.json":
		return ClassDisks, wantKind(v, rawjson.Array)
	}
	switch {
	case strings.HasSuffix(name, "/run.json"):
		return ClassRun, wantKind(v, rawjson.Object)
	case strings.HasSuffix(name, "/services.json"):
		if v.Kind != rawjson.Object && v.Kind != rawjson.Array {
			return ClassServices, printf.Errorf("want an object or array, got %s", v.Kind)
		}
		return ClassServices, nil
	case strings.HasSuffix(name, "/src.json"), strings.HasSuffix(name, "/build.json"), strings.HasPrefix(name, "_sigs/"):
		return ClassIgnored, nil
	case v.Kind == rawjson.String:
		if !IsSHA256(v.Str) {
			return ClassObject, printf.Errorf("want a 64-hex sha256, got %q", v.Str)
		}
		return ClassObject, nil
	case strings.HasSuffix(name, ".json") && (v.Kind == rawjson.Object || v.Kind == rawjson.Array):
		return ClassJSON, nil
	case v.Kind == rawjson.Object || v.Kind == rawjson.Array:
		// Upstream would take the JSON text for a sha256 and fail later.
		return ClassJSON, errors.New("inline JSON is allowed only for keys ending in .json")
	}
	return ClassObject, printf.Errorf("want a sha256 string or inline JSON, got %s", v.Kind)
}

func wantKind(v rawjson.Value, k rawjson.Kind) error {
	if v.Kind != k {
		return printf.Errorf("want a JSON %s, got %s", k, v.Kind)
	}
	return nil
}

// IsSHA256 reports whether s is 64 lowercase hex digits.
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CheckPath checks a path inside a revision: relative, clean, no "..",
// NUL or backslash. Such paths become file names in the trail, so anything
// else could escape it.
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute path")
	case strings.IndexByte(p, 0) >= 0:
		return errors.New("NUL in path")
	case strings.IndexByte(p, '\\') >= 0:
		return errors.New("backslash in path")
	}
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "..":
			return errors.New("'..' in path")
		case ".", "":
			return errors.New("path is not clean (empty or '.' component)")
		}
	}
	return nil
}

// CheckName checks a container or volume name: one path component.
func CheckName(n string) error {
	if strings.IndexByte(n, '/') >= 0 {
		return errors.New("'/' in name")
	}
	return CheckPath(n)
}
