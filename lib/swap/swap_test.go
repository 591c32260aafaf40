package swap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestHeader checks the header byte for byte against union swap_header.
func TestHeader(t *testing.T) {
	uuid := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, ps := range []int{4096, 16384, 65536} {
		size := int64(ps)*100 + 123 // a partial last page is not counted
		b, err := Header(size, ps, HeaderOptions{UUID: uuid, Label: "zram"})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, ps)
		le := binary.LittleEndian
		le.PutUint32(want[1024:], 1)
		le.PutUint32(want[1028:], 99)
		copy(want[1036:], uuid[:])
		copy(want[1052:], "zram")
		copy(want[ps-10:], "SWAPSPACE2")
		if !bytes.Equal(b, want) {
			t.Errorf("page size %d: header differs", ps)
		}
	}
}

func TestHeaderErrors(t *testing.T) {
	if _, err := Header(9*4096, 4096, HeaderOptions{}); !errors.Is(err, ErrTooSmall) {
		t.Errorf("9 pages: %v", err)
	}
	if _, err := Header(10*4096, 4096, HeaderOptions{}); err != nil {
		t.Errorf("10 pages: %v", err)
	}
	for _, ps := range []int{0, 512, 4097, 6144} {
		if _, err := Header(1<<20, ps, HeaderOptions{}); err == nil {
			t.Errorf("page size %d accepted", ps)
		}
	}
	if _, err := Header(1<<20, 4096, HeaderOptions{Label: strings.Repeat("x", 17)}); err == nil {
		t.Error("17-byte label accepted")
	}
	if _, err := Header(1<<20, 4096, HeaderOptions{Rand: bytes.NewReader(nil)}); err == nil {
		t.Error("empty random source accepted")
	}
}

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		bad  bool
	}{
		{"", 0, false},
		{"-d", flagDiscard, false},
		{"--discard", flagDiscard, false},
		{"-p 10", flagPrefer | 10, false},
		{"--priority=5", flagPrefer | 5, false},
		{"--priority 32767", flagPrefer | 32767, false},
		{"-p 1 -d", flagPrefer | 1 | flagDiscard, false},
		{"-p 1 -p 2", flagPrefer | 2, false},
		{"-p", 0, true},
		{"-p -1", 0, true},
		{"-p 32768", 0, true},
		{"-p x", 0, true},
		{"-e", 0, true},
		{"MS_NOATIME", 0, true},
	} {
		got, err := ParseFlags(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParseFlags(%q) = %#x, %v; want %#x", c.in, got, err, c.want)
		}
	}
}

func TestParseSwaps(t *testing.T) {
	in := "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n" +
		"/dev/zram1                              partition\t131068\t\t0\t\t100\n" +
		"/storage/swap\\040file                   file\t\t65532\t\t12\t\t-2\n"
	got, err := ParseSwaps(strings.NewReader(in))
	want := []Area{{"/dev/zram1", "partition", 131068, 0, 100}, {"/storage/swap file", "file", 65532, 12, -2}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSwaps = %+v, %v", got, err)
	}
	for _, bad := range []string{"h\n/dev/x partition 1 2\n", "h\n/dev/x partition a 2 3\n", "h\n/dev/x partition 1 2 z\n"} {
		if _, err := ParseSwaps(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSwaps(%q) accepted", bad)
		}
	}
}

func FuzzParseSwaps(f *testing.F) {
	f.Add("Filename Type Size Used Priority\n/dev/zram0 partition 1 0 -2\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseSwaps(strings.NewReader(s))
	})
}
