package dm

import (
	"bytes"
	"encoding/binary"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Layout of struct dm_ioctl and struct dm_target_spec (linux/dm-ioctl.h),
// identical on every Linux architecture: fixed-width fields, 8-aligned.
const (
	headerSize = 312 // sizeof(struct dm_ioctl)
	specSize   = 40  // sizeof(struct dm_target_spec)
	nameLen    = 128 // DM_NAME_LEN
	uuidLen    = 129 // DM_UUID_LEN
	typeLen    = 16  // DM_MAX_TYPE_NAME

	offVersion     = 0
	offDataSize    = 12
	offDataStart   = 16
	offTargetCount = 20
	offOpenCount   = 24
	offFlags       = 28
	offEventNr     = 32
	offDev         = 40
	offName        = 48
	offUUID        = 176

	specOffStart  = 0
	specOffLength = 8
	specOffStatus = 16
	specOffNext   = 20
	specOffType   = 24
)

// Flags of dm_ioctl.flags that this package uses.
const (
	flagReadOnly   = 1 << 0  // DM_READONLY_FLAG
	flagSuspend    = 1 << 1  // DM_SUSPEND_FLAG
	flagBufferFull = 1 << 8  // DM_BUFFER_FULL_FLAG
	flagSecureData = 1 << 15 // DM_SECURE_DATA_FLAG: kernel wipes its copy (keys)
)

// The interface version we speak: the kernel accepts a request whose major
// equals its own and whose minor is not newer (4.0.0 is what every kernel
// since 2.6 takes).
var ioctlVersion = [3]uint32{4, 0, 0}

// bufSize is the buffer for every request: large enough for a crypt
// table (a 64-hex-digit key and two device names) and for DM_DEV_STATUS.
const bufSize = 16 << 10

// Errors a caller can branch on.
var (
	ErrName      error = &sentinel.Error{Text: "dm: invalid device name"}
	ErrShortData error = &sentinel.Error{Text: "dm: reply too short"}
	ErrBadReply  error = &sentinel.Error{Text: "dm: malformed reply"}
)

// Header is the decoded part of struct dm_ioctl this package reads or sets.
type Header struct {
	Version     [3]uint32
	DataSize    uint32
	DataStart   uint32
	TargetCount uint32
	OpenCount   int32
	Flags       uint32
	EventNr     uint32
	Dev         uint64 // huge_encode_dev form: unix.Major/Minor decode it
	Name, UUID  string
}

// Target is one line of a table: sectors [Start, Start+Length) mapped by
// the target Type (e.g. "crypt") with its parameter string.
type Target struct {
	Start, Length uint64
	Type, Params  string
	Status        int32 // only set by the kernel in replies
}

// checkName reports whether name fits dm_ioctl.name (NUL-terminated) and is
// usable as a /dev/mapper file name.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return printf.Errorf("%w: %q", ErrName, name)
	case len(name) >= nameLen:
		return printf.Errorf("%w: %q is %d bytes, the limit is %d", ErrName, name, len(name), nameLen-1)
	case bytes.ContainsAny([]byte(name), "/\x00"):
		return printf.Errorf("%w: %q contains '/' or NUL", ErrName, name)
	}
	return nil
}

// encode builds a request buffer: the header for name with flags, then the
// targets as consecutive dm_target_specs, each followed by its
// NUL-terminated parameters and padded to 8 bytes ("next" is relative to
// the current spec on DM_TABLE_LOAD). The buffer is bufSize bytes at least
// so the kernel has room for its reply.
func encode(name string, flags uint32, targets []Target) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	body := 0
	for _, t := range targets {
		if len(t.Type) >= typeLen || t.Type == "" {
			return nil, printf.Errorf("dm: target type %q must be 1..%d bytes", t.Type, typeLen-1)
		}
		if bytes.IndexByte([]byte(t.Params), 0) >= 0 {
			return nil, printf.Errorf("dm: target %s parameters contain NUL", t.Type)
		}
		body += specLen(t.Params)
	}
	size := max(headerSize+body, bufSize)
	b := make([]byte, size)
	le := binary.NativeEndian // dm_ioctl is in host byte order
	for i, v := range ioctlVersion {
		le.PutUint32(b[offVersion+4*i:], v)
	}
	le.PutUint32(b[offDataSize:], uint32(size))
	le.PutUint32(b[offDataStart:], headerSize)
	le.PutUint32(b[offTargetCount:], uint32(len(targets)))
	le.PutUint32(b[offFlags:], flags)
	copy(b[offName:offName+nameLen], name)
	off := headerSize
	for _, t := range targets {
		n := specLen(t.Params)
		s := b[off : off+n]
		le.PutUint64(s[specOffStart:], t.Start)
		le.PutUint64(s[specOffLength:], t.Length)
		le.PutUint32(s[specOffNext:], uint32(n))
		copy(s[specOffType:specOffType+typeLen], t.Type)
		copy(s[specSize:], t.Params)
		off += n
	}
	return b, nil
}

// specLen is the size of one spec with its parameters, NUL and padding.
func specLen(params string) int {
	return (specSize + len(params) + 1 + 7) &^ 7
}

// decodeHeader reads the header of a reply.
func decodeHeader(b []byte) (Header, error) {
	if len(b) < headerSize {
		return Header{}, printf.Errorf("%w: %d bytes, a header is %d", ErrShortData, len(b), headerSize)
	}
	le := binary.NativeEndian
	var h Header
	for i := range h.Version {
		h.Version[i] = le.Uint32(b[offVersion+4*i:])
	}
	h.DataSize = le.Uint32(b[offDataSize:])
	h.DataStart = le.Uint32(b[offDataStart:])
	h.TargetCount = le.Uint32(b[offTargetCount:])
	h.OpenCount = int32(le.Uint32(b[offOpenCount:]))
	h.Flags = le.Uint32(b[offFlags:])
	h.EventNr = le.Uint32(b[offEventNr:])
	h.Dev = le.Uint64(b[offDev:])
	h.Name = cstring(b[offName : offName+nameLen])
	h.UUID = cstring(b[offUUID : offUUID+uuidLen])
	return h, nil
}

// decodeTargets reads the target specs of a DM_TABLE_STATUS-style reply,
// where "next" is relative to the first spec. It bounds every offset by
// data_size and the buffer.
func decodeTargets(b []byte) (Header, []Target, error) {
	h, err := decodeHeader(b)
	if err != nil {
		return h, nil, err
	}
	end := int(min(uint64(h.DataSize), uint64(len(b))))
	first := int(h.DataStart)
	if h.DataStart < headerSize || first > end {
		return h, nil, printf.Errorf("%w: data_start %d outside [%d, %d]", ErrBadReply, h.DataStart, headerSize, end)
	}
	if h.TargetCount > uint32(end-first)/specSize {
		return h, nil, printf.Errorf("%w: %d targets cannot fit in %d bytes", ErrBadReply, h.TargetCount, end-first)
	}
	le := binary.NativeEndian
	ts := make([]Target, 0, h.TargetCount)
	off := first
	for i := uint32(0); i < h.TargetCount; i++ {
		if off < first || off+specSize > end {
			return h, nil, printf.Errorf("%w: target %d at %d outside the data", ErrBadReply, i, off)
		}
		s := b[off:end]
		next := le.Uint32(s[specOffNext:])
		pend := end
		if i+1 < h.TargetCount {
			if uint64(first)+uint64(next) <= uint64(off+specSize) || uint64(first)+uint64(next) > uint64(end) {
				return h, nil, printf.Errorf("%w: target %d next %d points outside the data", ErrBadReply, i, next)
			}
			pend = first + int(next)
		}
		ts = append(ts, Target{
			Start:  le.Uint64(s[specOffStart:]),
			Length: le.Uint64(s[specOffLength:]),
			Status: int32(le.Uint32(s[specOffStatus:])),
			Type:   cstring(s[specOffType : specOffType+typeLen]),
			Params: cstring(b[off+specSize : pend]),
		})
		off = first + int(next)
	}
	return h, ts, nil
}

// cstring is b up to its first NUL.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
