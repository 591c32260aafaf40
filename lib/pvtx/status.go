package pvtx

import (
	"bytes"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Transaction states, the values of Status.State (upstream's enum
// pvtx_txn_status).
const (
	StateError     int32 = iota
	StateSet             // a queue was created, no transaction yet
	StateActive          // begun: add, remove, show, commit, deploy work
	StateAborted         // kept for compatibility; abort deletes the file
	StateCommitted       // sent to pv-ctrl
	StateDeployed        // written to a directory
)

// Layout of the .status file: upstream writes its C structs as they are
// in memory, int32 in host order (little-endian on every board we build)
// and NUL-terminated strings in PATH_MAX fields:
//
//	struct pvtx_txn   { int32 status; int32 is_local; char obj[4096]; }
//	struct pvtx_queue { struct pvtx_txn txn; char queue[4096]; int32 count; int32 error; }
const (
	pathMax      = 4096
	offStatus    = 0
	offLocal     = 4
	offObj       = 8
	offQueue     = offObj + pathMax   // 4104
	offCount     = offQueue + pathMax // 8200
	offError     = offCount + 4       // 8204
	txnSize      = offQueue           // 4104 bytes
	queueSize    = offError + 4       // 8208 bytes
	statusFile   = ".status"
	currentFile  = "current.json"
	maxPathBytes = pathMax - 1 // room for the NUL
)

// ErrBadStatus is wrapped when a .status file is too short.
var ErrBadStatus error = &sentinel.Error{Text: "invalid .status file"}

// Status is the content of the .status file. Queue is "" for a plain
// transaction; a queue (queue new) also has Count, its next entry number.
type Status struct {
	State   int32
	Local   bool
	Objects string // objects directory of a local transaction
	Queue   string
	Count   int32
	Error   int32
}

// MarshalBinary encodes s in upstream's layout: 4104 bytes, or 8208 when
// s has a queue (or a queue's count or error, so that what ParseStatus
// read from a queue struct is written back whole). Paths longer than 4095
// bytes are an error.
func (s *Status) MarshalBinary() ([]byte, error) {
	size := txnSize
	if s.Queue != "" || s.Count != 0 || s.Error != 0 {
		size = queueSize
	}
	b := make([]byte, size)
	putInt32(b[offStatus:], s.State)
	if s.Local {
		putInt32(b[offLocal:], 1)
	}
	if err := putPath(b[offObj:offQueue], s.Objects); err != nil {
		return nil, err
	}
	if size == queueSize {
		if err := putPath(b[offQueue:offCount], s.Queue); err != nil {
			return nil, err
		}
		putInt32(b[offCount:], s.Count)
		putInt32(b[offError:], s.Error)
	}
	return b, nil
}

// ParseStatus decodes a .status file (either size; bytes past the queue
// struct are ignored).
func ParseStatus(b []byte) (Status, error) {
	if len(b) < txnSize {
		return Status{}, printf.Errorf("%w: %d bytes, want %d or %d", ErrBadStatus, len(b), txnSize, queueSize)
	}
	s := Status{
		State:   getInt32(b[offStatus:]),
		Local:   getInt32(b[offLocal:]) != 0,
		Objects: getPath(b[offObj:offQueue]),
	}
	if len(b) >= queueSize {
		s.Queue = getPath(b[offQueue:offCount])
		s.Count = getInt32(b[offCount:])
		s.Error = getInt32(b[offError:])
	}
	return s, nil
}

func putInt32(b []byte, v int32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func getInt32(b []byte) int32 {
	return int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}

func putPath(dst []byte, p string) error {
	if len(p) > maxPathBytes || bytes.IndexByte([]byte(p), 0) >= 0 {
		return printf.Errorf("path %.40q...: longer than %d bytes or holds a NUL", p, maxPathBytes)
	}
	copy(dst, p)
	return nil
}

func getPath(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
