package bootloader

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func entries(kv ...string) []entry {
	var out []entry
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, entry{kv[i], kv[i+1]})
	}
	return out
}

func TestGrubGolden(t *testing.T) {
	b, err := encodeGrub(entries("pv_rev", "3", "pv_try", "a\\b\nc"))
	require.NoError(t, err)
	head := "# GRUB Environment Block\npv_rev=3\npv_try=a\\\\b\\\nc\n"
	require.Equal(t, head+strings.Repeat("#", BlockSize-len(head)), string(b))
	got, err := parseGrub(b)
	require.NoError(t, err)
	require.Equal(t, entries("pv_rev", "3", "pv_try", "a\\b\nc"), got)
}

func TestUbootGolden(t *testing.T) {
	b, err := encodeUboot(entries("pv_rev", "3", "pv_try", "4"))
	require.NoError(t, err)
	head := "pv_rev=3\x00pv_try=4\x00"
	require.Equal(t, head+strings.Repeat("\x00", BlockSize-len(head)), string(b))
	got, err := parseUboot(b)
	require.NoError(t, err)
	require.Equal(t, entries("pv_rev", "3", "pv_try", "4"), got)
}

func TestEmptyBlocks(t *testing.T) {
	b, err := encodeGrub(nil)
	require.NoError(t, err)
	require.Len(t, b, BlockSize)
	got, err := parseGrub(b)
	require.NoError(t, err)
	require.Empty(t, got)
	b, err = encodeUboot(nil)
	require.NoError(t, err)
	require.Equal(t, make([]byte, BlockSize), b)
	got, err = parseUboot(b)
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestParseGrubTable(t *testing.T) {
	const h = grubHeader
	for _, tc := range []struct {
		name, in string
		want     []entry
		corrupt  bool
	}{
		{"empty file", "", nil, true},
		{"no header", "pv_rev=1\n", nil, true},
		{"header only", h, nil, false},
		{"comment lines", h + "# WARNING: Do not edit\npv_rev=1\n####", entries("pv_rev", "1"), false},
		{"empty value", h + "pv_try=\n", entries("pv_try", ""), false},
		{"escapes", h + "a=x\\\\y\\\nz\\q\n", entries("a", "x\\y\nzq"), false},
		{"repeated key keeps first place, last value", h + "a=1\nb=2\na=3\n", entries("a", "3", "b", "2"), false},
		{"name across a newline, as GRUB", h + "foo\nbar=1\n", entries("foo\nbar", "1"), false},
		{"value with '='", h + "a=b=c\n", entries("a", "b=c"), false},
		{"broken: no '='", h + "a=1\nnoequals", entries("a", "1"), true},
		{"broken: no newline", h + "a=1\nb=2", entries("a", "1"), true},
		{"broken: trailing backslash", h + "a=1\nb=2\\", entries("a", "1"), true},
		{"larger than a block", h + "a=1\n" + strings.Repeat("#", 3000), entries("a", "1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGrub([]byte(tc.in))
			require.Equal(t, tc.want, got)
			if tc.corrupt {
				require.ErrorIs(t, err, ErrCorrupt)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestParseUbootTable(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []entry
		corrupt  bool
	}{
		{"empty file", "", nil, false},
		{"one entry", "pv_rev=1\x00", entries("pv_rev", "1"), false},
		{"padding ends", "a=1\x00\x00b=2\x00", entries("a", "1"), false},
		{"no final NUL", "a=1\x00b=2", entries("a", "1", "b", "2"), true},
		{"no '='", "a=1\x00junk\x00b=2\x00", entries("a", "1", "b", "2"), true},
		{"empty key", "=1\x00b=2\x00", entries("b", "2"), true},
		{"value with '=' and newline", "a=b=c\nd\x00", entries("a", "b=c\nd"), false},
		{"repeated key", "a=1\x00a=2\x00", entries("a", "2"), false},
		{"garbage", "\xff\xfe\xfd", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUboot([]byte(tc.in))
			require.Equal(t, tc.want, got)
			if tc.corrupt {
				require.ErrorIs(t, err, ErrCorrupt)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

func TestOversized(t *testing.T) {
	big := strings.Repeat("x", BlockSize)
	_, err := encodeGrub(entries("k", big))
	require.ErrorIs(t, err, ErrTooBig)
	_, err = encodeUboot(entries("k", big))
	require.ErrorIs(t, err, ErrTooBig)
	// Exactly full: a GRUB block needs no padding; uboot.txt needs its end mark.
	fill := BlockSize - len(grubHeader) - len("k=\n")
	b, err := encodeGrub(entries("k", strings.Repeat("x", fill)))
	require.NoError(t, err)
	require.Len(t, b, BlockSize)
	_, err = encodeUboot(entries("k", strings.Repeat("x", BlockSize-len("k=\x00"))))
	require.ErrorIs(t, err, ErrTooBig)
	_, err = encodeUboot(entries("k", strings.Repeat("x", BlockSize-len("k=\x00")-1)))
	require.NoError(t, err)
}

func TestCheckTable(t *testing.T) {
	for _, tc := range []struct {
		c          codec
		key, value string
		ok         bool
	}{
		{grubCodec, "pv_rev", "1", true},
		{grubCodec, "pv_rev", "a\nb\\c", true},
		{grubCodec, "", "1", false},
		{grubCodec, "a=b", "1", false},
		{grubCodec, "a\nb", "1", false},
		{grubCodec, "#a", "1", false},
		{grubCodec, "a", "x\x00", false},
		{ubootCodec, "pv_rev", "a\nb", true},
		{ubootCodec, "a\nb", "1", true},
		{ubootCodec, "#a", "1", true},
		{ubootCodec, "a=b", "1", false},
		{ubootCodec, "a\x00", "1", false},
		{ubootCodec, "a", "x\x00", false},
		{ubootCodec, "", "", false},
	} {
		err := tc.c.check(tc.key, tc.value)
		if tc.ok {
			require.NoError(t, err, "%d %q=%q", tc.c, tc.key, tc.value)
		} else {
			require.ErrorIs(t, err, ErrInvalid, "%d %q=%q", tc.c, tc.key, tc.value)
		}
	}
}

// roundTrip checks that what parse reads, encode writes back identically
// (when it fits), for the fuzzers.
func roundTrip(t *testing.T, c codec, data []byte) {
	vars, _ := c.parse(data)
	b, err := c.encode(vars)
	if err != nil {
		require.ErrorIs(t, err, ErrTooBig)
		return
	}
	require.Len(t, b, BlockSize)
	again, err := c.parse(b)
	require.NoError(t, err)
	require.Equal(t, vars, again)
}

func FuzzParseGrubenv(f *testing.F) {
	f.Add([]byte(grubHeader + "pv_rev=1\npv_try=a\\\\b\\\nc\n###"))
	f.Add([]byte(grubHeader + "foo\nbar=1\n"))
	f.Add([]byte(grubHeader + "a=1\nb"))
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, grubCodec, data) })
}

func FuzzParseUboot(f *testing.F) {
	f.Add([]byte("pv_rev=1\x00pv_try=2\x00\x00\x00"))
	f.Add([]byte("a=1\x00junk\x00=x"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, ubootCodec, data) })
}

// TestTornBlocks: an in-place rewrite cut between two 512-byte sectors
// leaves a mix of the new and old block. It parses without panic (or is
// reported corrupt); with an env shorter than a sector, as pv_rev and
// pv_try always are, the mix is exactly the new env.
func TestTornBlocks(t *testing.T) {
	long := strings.Repeat("y", 600)
	for _, c := range []codec{grubCodec, ubootCodec} {
		oldB, err := c.encode(entries("pv_rev", "1", "other", long))
		require.NoError(t, err)
		newB, err := c.encode(entries("pv_rev", "2", "pv_try", "3"))
		require.NoError(t, err)
		for _, cut := range []int{1, 100, 512, 1023} {
			c.parse(append(append([]byte(nil), newB[:cut]...), oldB[cut:]...))
			c.parse(append(append([]byte(nil), oldB[:cut]...), newB[cut:]...))
		}
		short, err := c.encode(entries("pv_rev", "1"))
		require.NoError(t, err)
		got, err := c.parse(append(append([]byte(nil), newB[:512]...), short[512:]...))
		require.NoError(t, err)
		require.Equal(t, entries("pv_rev", "2", "pv_try", "3"), got)
	}
}
