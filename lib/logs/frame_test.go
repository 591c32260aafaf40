package logs

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	leg := AppendLegacy(nil, Info, "p", "s", []byte("data\n"))
	tests := []struct {
		name     string
		in       string
		nul      bool // peer sent a NUL before
		end, eof bool
		want     []string
		used     int
		err      bool
	}{
		{"one read one message", "level=INFO src=a message=b", false, true, false, []string{"level=INFO src=a message=b"}, 26, false},
		{"mid read waits", "level=INFO src=a", false, false, false, nil, 0, false},
		{"nul terminated", "a\x00b\x00", false, false, false, []string{"a", "b"}, 4, false},
		{"nul peer waits for the rest", "a\x00b", false, true, false, []string{"a"}, 2, false},
		{"nul peer at eof", "b", true, true, true, []string{"b"}, 1, false},
		{"empty messages skipped", "\x00x\x00y\x00", false, false, false, []string{"x", "y"}, 5, false},
		{"binary then text", string(leg) + "<13>x: y\x00", false, false, false, []string{string(leg), "<13>x: y"}, len(leg) + 9, false},
		{"binary cut waits", string(leg[:10]), false, true, false, nil, 0, false},
		{"binary cut at eof", string(leg[:10]), false, true, true, nil, 0, true},
		{"binary header short at eof", "\x00\x00", false, true, true, nil, 0, true},
		{"binary too long", string(binary.NativeEndian.AppendUint32([]byte{0, 0, 0, 0}, MaxMessage+1)), false, true, false, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			st := framing{nul: tt.nul}
			used, err := split([]byte(tt.in), &st, tt.end, tt.eof, func(b []byte) { got = append(got, string(b)) })
			if tt.err {
				require.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.used, used)
		})
	}
}

func TestSplitLongText(t *testing.T) {
	in := strings.Repeat("x", MaxMessage+10)
	var got []int
	st := framing{nul: true}
	used, err := split([]byte(in), &st, true, false, func(b []byte) { got = append(got, len(b)) })
	require.NoError(t, err)
	assert.Equal(t, []int{MaxMessage}, got)
	assert.Equal(t, MaxMessage, used)
}

// TestSplitLateNul: text cut at the end of a read, then its NUL in the
// next read, then a binary message (whose header starts with zero bytes).
func TestSplitLateNul(t *testing.T) {
	var st framing
	var got []string
	f := func(b []byte) { got = append(got, string(b)) }
	used, err := split([]byte("just text"), &st, true, false, f)
	require.NoError(t, err)
	assert.Equal(t, 9, used)
	leg := AppendLegacy(nil, Info, "p", "s", []byte("d"))
	in := append([]byte{0}, leg...)
	in = append(in, "after\x00"...)
	used, err = split(in, &st, true, true, f)
	require.NoError(t, err)
	assert.Equal(t, len(in), used)
	assert.Equal(t, []string{"just text", string(leg), "after"}, got)
	assert.True(t, st.nul)
}
