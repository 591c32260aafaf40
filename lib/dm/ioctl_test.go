package dm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestLayout checks our offsets against x/sys's Go mirror of
// linux/dm-ioctl.h (generated from the kernel headers).
func TestLayout(t *testing.T) {
	var h unix.DmIoctl
	var s unix.DmTargetSpec
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof dm_ioctl", headerSize, unsafe.Sizeof(h)},
		{"sizeof dm_target_spec", specSize, unsafe.Sizeof(s)},
		{"version", offVersion, unsafe.Offsetof(h.Version)},
		{"data_size", offDataSize, unsafe.Offsetof(h.Data_size)},
		{"data_start", offDataStart, unsafe.Offsetof(h.Data_start)},
		{"target_count", offTargetCount, unsafe.Offsetof(h.Target_count)},
		{"open_count", offOpenCount, unsafe.Offsetof(h.Open_count)},
		{"flags", offFlags, unsafe.Offsetof(h.Flags)},
		{"event_nr", offEventNr, unsafe.Offsetof(h.Event_nr)},
		{"dev", offDev, unsafe.Offsetof(h.Dev)},
		{"name", offName, unsafe.Offsetof(h.Name)},
		{"uuid", offUUID, unsafe.Offsetof(h.Uuid)},
		{"name len", nameLen, unsafe.Sizeof(h.Name)},
		{"uuid len", uuidLen, unsafe.Sizeof(h.Uuid)},
		{"sector_start", specOffStart, unsafe.Offsetof(s.Sector_start)},
		{"length", specOffLength, unsafe.Offsetof(s.Length)},
		{"status", specOffStatus, unsafe.Offsetof(s.Status)},
		{"next", specOffNext, unsafe.Offsetof(s.Next)},
		{"target_type", specOffType, unsafe.Offsetof(s.Target_type)},
		{"type len", typeLen, unsafe.Sizeof(s.Target_type)},
		{"DM_SECURE_DATA_FLAG", flagSecureData, unix.DM_SECURE_DATA_FLAG},
		{"DM_SUSPEND_FLAG", flagSuspend, unix.DM_SUSPEND_FLAG},
		{"DM_READONLY_FLAG", flagReadOnly, unix.DM_READONLY_FLAG},
		{"DM_BUFFER_FULL_FLAG", flagBufferFull, unix.DM_BUFFER_FULL_FLAG},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, kernel layout says %d", c.name, c.got, c.want)
		}
	}
}

// TestEncodeTableLoad checks a DM_TABLE_LOAD request byte for byte.
func TestEncodeTableLoad(t *testing.T) {
	params := "aes-cbc-essiv:sha256 00ff 0 /dev/loop3 0" // 41 bytes
	b, err := encode("secrets", flagSecureData, []Target{{Start: 0, Length: 4096, Type: "crypt", Params: params}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, bufSize)
	le := binary.LittleEndian
	le.PutUint32(want[0:], 4)
	le.PutUint32(want[4:], 0)
	le.PutUint32(want[8:], 0)
	le.PutUint32(want[12:], bufSize)
	le.PutUint32(want[16:], 312)
	le.PutUint32(want[20:], 1)
	le.PutUint32(want[28:], 0x8000)
	copy(want[48:], "secrets")
	spec := want[312:]
	le.PutUint64(spec[8:], 4096)
	le.PutUint32(spec[20:], 88) // 40 + 41 + NUL = 82, padded to 88
	copy(spec[24:], "crypt")
	copy(spec[40:], params)
	if !bytes.Equal(b, want) {
		for i := range b {
			if b[i] != want[i] {
				t.Fatalf("first difference at byte %d: got %#x want %#x", i, b[i], want[i])
			}
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		targets []Target
		want    string
	}{
		{"", nil, "invalid device name"},
		{"..", nil, "invalid device name"},
		{"a/b", nil, "contains '/'"},
		{strings.Repeat("n", 128), nil, "the limit is 127"},
		{"ok", []Target{{Type: "", Length: 1}}, "target type"},
		{"ok", []Target{{Type: "a-type-that-is-too-long", Length: 1}}, "target type"},
		{"ok", []Target{{Type: "crypt", Params: "a\x00b"}}, "contain NUL"},
	} {
		_, err := encode(c.name, 0, c.targets)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("encode(%q, %v) = %v, want %q", c.name, c.targets, err, c.want)
		}
	}
	if _, err := encode(strings.Repeat("n", 127), 0, nil); err != nil {
		t.Errorf("a 127-byte name is valid: %v", err)
	}
}

// reply builds a DM_TABLE_STATUS-style reply (next relative to the first spec).
func reply(ts []Target) []byte {
	b := make([]byte, 1024)
	le := binary.LittleEndian
	le.PutUint32(b[0:], 4)
	le.PutUint32(b[4:], 48)
	le.PutUint32(b[12:], uint32(len(b)))
	le.PutUint32(b[16:], headerSize)
	le.PutUint32(b[20:], uint32(len(ts)))
	le.PutUint32(b[24:], 2)
	le.PutUint64(b[40:], 0xfc01) // 252:1 in huge_encode_dev form
	copy(b[48:], "dev")
	copy(b[176:], "CRYPT-PLAIN-dev")
	off := 0
	for _, t := range ts {
		s := b[headerSize+off:]
		n := specLen(t.Params)
		le.PutUint64(s[0:], t.Start)
		le.PutUint64(s[8:], t.Length)
		le.PutUint32(s[16:], uint32(t.Status))
		le.PutUint32(s[20:], uint32(off+n))
		copy(s[24:], t.Type)
		copy(s[40:], t.Params)
		off += n
	}
	return b
}

func TestDecode(t *testing.T) {
	ts := []Target{{0, 100, "linear", "/dev/loop0 0", 0}, {100, 50, "crypt", "aes 00 0 /dev/loop1 0", 0}}
	h, got, err := decodeTargets(reply(ts))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != [3]uint32{4, 48, 0} || h.OpenCount != 2 || h.Name != "dev" || h.UUID != "CRYPT-PLAIN-dev" ||
		unix.Major(h.Dev) != 252 || unix.Minor(h.Dev) != 1 {
		t.Errorf("header = %+v", h)
	}
	if len(got) != 2 || got[0] != ts[0] || got[1] != ts[1] {
		t.Errorf("targets = %+v, want %+v", got, ts)
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := decodeHeader(make([]byte, 311)); !errors.Is(err, ErrShortData) {
		t.Errorf("short header: %v", err)
	}
	b := reply([]Target{{0, 1, "linear", "x", 0}})
	binary.LittleEndian.PutUint32(b[20:], 1000)
	if _, _, err := decodeTargets(b); !errors.Is(err, ErrBadReply) {
		t.Errorf("1000 targets in 1 KiB: %v", err)
	}
	b = reply([]Target{{0, 1, "linear", "x", 0}, {1, 1, "linear", "y", 0}})
	binary.LittleEndian.PutUint32(b[headerSize+20:], 4000)
	if _, _, err := decodeTargets(b); !errors.Is(err, ErrBadReply) {
		t.Errorf("next outside the data: %v", err)
	}
	b = reply(nil)
	binary.LittleEndian.PutUint32(b[16:], 10)
	if _, _, err := decodeTargets(b); !errors.Is(err, ErrBadReply) {
		t.Errorf("data_start inside the header: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(reply(nil))
	f.Add(reply([]Target{{0, 100, "linear", "/dev/loop0 0", 0}, {100, 50, "crypt", "p", 0}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ts, err := decodeTargets(b)
		if err != nil {
			return
		}
		if uint32(len(ts)) != h.TargetCount {
			t.Fatalf("%d targets decoded, header says %d", len(ts), h.TargetCount)
		}
	})
}

func TestCryptTable(t *testing.T) {
	key := []byte{0x00, 0x01, 0xab, 0xff}
	got, err := CryptTable(CryptCipher, key, "/dev/loop7")
	if want := "aes-cbc-essiv:sha256 0001abff 0 /dev/loop7 0"; err != nil || got != want {
		t.Errorf("CryptTable = %q, %v; want %q", got, err, want)
	}
	for _, c := range []struct {
		cipher string
		key    []byte
		dev    string
	}{{"", key, "/dev/x"}, {"aes cbc", key, "/dev/x"}, {CryptCipher, nil, "/dev/x"}, {CryptCipher, key, ""}, {CryptCipher, key, "/dev/a b"}} {
		if _, err := CryptTable(c.cipher, c.key, c.dev); err == nil {
			t.Errorf("CryptTable(%q, %x, %q) accepted", c.cipher, c.key, c.dev)
		}
	}
}

func TestCmdNames(t *testing.T) {
	for _, c := range []struct {
		cmd  uintptr
		want string
	}{
		{unix.DM_VERSION, "DM_VERSION"}, {unix.DM_DEV_CREATE, "DM_DEV_CREATE"}, {unix.DM_DEV_REMOVE, "DM_DEV_REMOVE"},
		{unix.DM_DEV_SUSPEND, "DM_DEV_SUSPEND"}, {unix.DM_DEV_STATUS, "DM_DEV_STATUS"}, {unix.DM_TABLE_LOAD, "DM_TABLE_LOAD"},
		{0x1234, "ioctl 0x1234"},
	} {
		if got := cmdName(c.cmd); got != c.want {
			t.Errorf("cmdName(%#x) = %q, want %q", c.cmd, got, c.want)
		}
	}
}
