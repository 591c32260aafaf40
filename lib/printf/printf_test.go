package printf

import (
	"errors"
	"fmt"
	"go/types"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type name string

func (n name) String() string { return "name:" + string(n) }

type code int

func (c code) Error() string { return "code " + fmt.Sprint(int(c)) }

// TestLikeFmt holds the printer to package fmt for every verb, flag and
// operand type it knows.
func TestLikeFmt(t *testing.T) {
	err := errors.New("boom")
	var nilErr error
	for _, tc := range []struct {
		format string
		args   []any
	}{
		{"plain text", nil},
		{"%s|%v|%q", []any{"a\tb", "é", "say \"hi\"\n"}},
		{"%.40q|%.3s|%.0s|%.2q", []any{strings.Repeat("x", 50), "héllo", "gone", "日本語"}},
		{"%-13s|%13s|%5s|%-3s|%1s", []any{"left", "right", "日本", "long text", ""}},
		{"%s %v %q %x %X", []any{[]byte("ab"), "v", []byte("q\x00"), []byte{0, 0xab, 0xff}, "\xfe"}},
		{"%s|%v|%q", []any{[]string{"a", "b c"}, []string{}, []string{"x\n"}}},
		{"%s|%v|%q|%d", []any{err, err, err, 3}},
		{"%v|%s", []any{name("n"), name("m")}},
		{"%v|%s|%d", []any{code(4), code(5), 6}},
		{"%v %s", []any{time.Second + 5*time.Millisecond, fs.ModeDir | 0o755}},
		{"%v|%v", []any{nil, nilErr}},
		{"%t %v %t", []any{true, false, false}},
		{"%d %v %d %d %d %d", []any{-42, 42, int8(-8), int16(16), int32(-32), int64(1 << 62)}},
		{"%d %d %d %d %d %d", []any{uint(1), uint8(255), uint16(65535), uint32(1 << 31), uint64(1<<64 - 1), uintptr(9)}},
		{"%d|%d|%+d|%+d", []any{-1 << 63, 0, 5, -5}},
		{"%02d|%03d|%08d|%03d|%5d|%-5d|%02d", []any{7, 42, 1234, -5, 42, 42, 123}},
		{"%x %X %#x %#X %02x %04X %o %#o %x", []any{255, 255, 255, 0, 10, 0xbeef, 8, 8, -255}},
		{"%c%c%c|%q", []any{'a', 'é', 0x65e5, 'x'}},
		{"%.1f|%.2f|%f|%v|%v|%v|%5.1f|%05.1f|%+.1f", []any{3.14159, 2.0, 1.5, 1e21, 0.000001, 100.0, 2.25, -2.25, 1.0}},
		{"%v|%.1f", []any{float32(0.1), float32(2.5)}},
		{"100%% %s%%", []any{"done"}},
		{"%s %2F", []any{"a", 1.5}},
		{"%.3d|%.0d|%8.3d", []any{7, 0, -7}},
		{"%s|%d", []any{"missing"}},
	} {
		assert.Equal(t, fmt.Sprintf(tc.format, tc.args...), Sprintf(tc.format, tc.args...), tc.format)
	}
}

// TestOutsideTheContract shows what the printer does where fmt would use
// reflection: TestCallSites keeps every call of the device's code away
// from it.
func TestOutsideTheContract(t *testing.T) {
	type point struct{ x int }
	assert.Equal(t, "%!v(?) %!d(?) %!s(?)", Sprintf("%v %d %s", point{1}, name("n"), 3))
	assert.Equal(t, "%!d(<nil>)", Sprintf("%d", nil))
	assert.Equal(t, "a%!(EXTRA)", Sprintf("a", 1))
	assert.Equal(t, "a%!(NOVERB)", Sprintf("a%"))
}

func TestPrint(t *testing.T) {
	for _, args := range [][]any{
		{"a", "b"}, {1, 2}, {"a", 1, 2, "b"}, {errors.New("e"), 3}, {}, {nil},
	} {
		var ours, std strings.Builder
		Fprint(&ours, args...)
		fmt.Fprint(&std, args...)
		assert.Equal(t, std.String(), ours.String(), args)
		ours.Reset()
		std.Reset()
		Fprintln(&ours, args...)
		fmt.Fprintln(&std, args...)
		assert.Equal(t, std.String(), ours.String(), args)
		assert.Equal(t, fmt.Sprint(args...), Sprint(args...), args)
	}
}

func TestErrorf(t *testing.T) {
	err := Errorf("open %s: %w", "f", os.ErrNotExist)
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Equal(t, "open f: file does not exist", err.Error())
	assert.Equal(t, os.ErrNotExist, errors.Unwrap(err))

	var pe *fs.PathError
	err = Errorf("a: %w, b: %w", &fs.PathError{Op: "x", Path: "p", Err: os.ErrClosed}, os.ErrExist)
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, os.ErrExist)
	require.ErrorIs(t, err, os.ErrClosed)
	assert.Equal(t, fmt.Errorf("a: %w, b: %w", pe, os.ErrExist).Error(), err.Error())
	assert.Nil(t, errors.Unwrap(err), "two wrapped errors: Unwrap() []error, as fmt")

	err = Errorf("plain %d", 1)
	assert.Nil(t, errors.Unwrap(err))
	assert.Equal(t, "plain 1", err.Error())

	assert.Equal(t, fmt.Errorf("nil: %w", nil).Error(), Errorf("nil: %w", nil).Error())
	assert.Nil(t, errors.Unwrap(Errorf("nil: %w", nil)))
	notErr := any("str")
	assert.Equal(t, "%!w(?)", Errorf("%w", notErr).Error(), "a %w of a non-error: not wrapped")
}

func TestAppendf(t *testing.T) {
	assert.Equal(t, "x=1 y=ab", string(Appendf([]byte("x="), "%d y=%s", 1, "ab")))
}

// fuzzTypes are FuzzLikeFmt's operands' types, in order, for printable.
var fuzzTypes = []types.Type{types.Typ[types.String], types.Typ[types.Int64], types.Typ[types.Uint8],
	types.Typ[types.Float64], types.Typ[types.Bool], types.NewSlice(types.Typ[types.Byte]), errorType,
	types.NewSlice(types.Typ[types.String])}

// FuzzLikeFmt compares the printer with fmt on formats made of the
// supported verbs and flags, for one operand of each supported kind.
// Where a verb meets an operand outside the contract TestCallSites holds
// the device to (printable: %x of a float64, say, which fmt prints), or
// fmt reports a verb that does not fit its operand (%!), the printer is
// outside its contract (TestOutsideTheContract) and only must not panic.
func FuzzLikeFmt(f *testing.F) {
	f.Add("%s %d %x %v %.2f %t", "a", int64(-3), uint8(7), 1.5, true)
	f.Add("%-8q|%08d|%#X|%+v|%5.1f|%v", "é\n", int64(42), uint8(0), -0.25, false)
	f.Fuzz(func(t *testing.T, format, s string, i int64, u uint8, fl float64, b bool) {
		args := []any{s, i, u, fl, b, []byte(s), errors.New(s), []string{s, s}}
		got := Sprintf(format, args...)
		if !supported(format) {
			return
		}
		for i, v := range verbs(format) {
			if i < len(fuzzTypes) && !printable(v.letter, fuzzTypes[i]) {
				return
			}
		}
		want := fmt.Sprintf(format, args...)
		if strings.Contains(want, "%!") {
			return
		}
		if got != want {
			t.Fatalf("Sprintf(%q): got %q, fmt %q", format, got, want)
		}
	})
}

// supported reports whether format uses only the verbs and flags the
// package documents, as TestCallSites requires of the device's formats.
func supported(format string) bool {
	for _, v := range verbs(format) {
		if !v.ok {
			return false
		}
	}
	return true
}

// BenchmarkSprintf formats a typical log line with the printer and with
// fmt.
func BenchmarkSprintf(b *testing.B) {
	err := errors.New("no such file or directory")
	const format = "container %s: %s %q failed after %d tries: %w"
	b.Run("printf", func(b *testing.B) {
		for range b.N {
			_ = Errorf(format, "app", "mount", "/volumes/data", 3, err)
		}
	})
	b.Run("fmt", func(b *testing.B) {
		for range b.N {
			_ = fmt.Errorf(format, "app", "mount", "/volumes/data", 3, err)
		}
	})
}
