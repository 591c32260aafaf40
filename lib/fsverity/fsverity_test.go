package fsverity

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestParseString(t *testing.T) {
	s256 := "sha256:" + strings.Repeat("ab", 32)
	s512 := "sha512:" + strings.Repeat("01", 64)
	for _, tc := range []struct {
		in, want string // want "" = ErrBadDigest
	}{
		{s256, s256},
		{s256 + "\n", s256},
		{"  " + s512 + " \n", s512},
		{"sha256:" + strings.Repeat("ab", 31), ""}, // short
		{"sha256:" + strings.Repeat("ab", 64), ""}, // sha512's length
		{"sha512:" + strings.Repeat("ab", 32), ""}, // sha256's length
		{"sha256:" + strings.Repeat("zz", 32), ""}, // not hex
		{"md5:" + strings.Repeat("ab", 16), ""},    // unknown algorithm
		{strings.Repeat("ab", 32), ""},             // no algorithm
		{"", ""},
	} {
		d, err := Parse(tc.in)
		if tc.want == "" {
			assert.ErrorIs(t, err, ErrBadDigest, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		assert.Equal(t, tc.want, d.String())
	}
	assert.Equal(t, "alg9:00ff", Digest{Algorithm: 9, Sum: []byte{0, 0xff}}.String())
	a, _ := Parse(s256)
	b, _ := Parse(s256)
	assert.True(t, a.Equal(b))
	b.Sum[0] ^= 1
	assert.False(t, a.Equal(b))
	assert.False(t, a.Equal(Digest{Algorithm: 2, Sum: a.Sum}))
}

// TestMeaning: which errno of which ioctl means unsupported or not
// enabled, and which stay plain errors.
func TestMeaning(t *testing.T) {
	for _, tc := range []struct {
		op    string
		errno unix.Errno
		want  error
	}{
		{opEnable, unix.ENOTTY, ErrUnsupported},
		{opEnable, unix.EOPNOTSUPP, ErrUnsupported},
		{opEnable, unix.ENOPKG, ErrUnsupported},
		{opEnable, unix.ENOSYS, ErrUnsupported},
		{opEnable, unix.EINVAL, ErrUnsupported},
		{opEnable, unix.EROFS, ErrUnsupported},
		{opEnable, unix.ENOSPC, nil},
		{opEnable, unix.ETXTBSY, nil},
		{opEnable, unix.EPERM, nil},
		{opEnable, unix.ENODATA, nil},
		{opMeasure, unix.ENODATA, ErrNotEnabled},
		{opMeasure, unix.ENOTTY, ErrUnsupported},
		{opMeasure, unix.EOPNOTSUPP, ErrUnsupported},
		{opMeasure, unix.EINVAL, nil},
		{opMeasure, unix.EOVERFLOW, nil},
	} {
		err := error(&Error{Op: tc.op, Path: "/f", Err: tc.errno})
		assert.ErrorIs(t, err, tc.errno, "%s %v", tc.op, tc.errno)
		for _, s := range []error{ErrUnsupported, ErrNotEnabled} {
			assert.Equal(t, s == tc.want, errors.Is(err, s), "%s %v is %v", tc.op, tc.errno, s)
		}
		assert.Equal(t, tc.op+" /f: "+tc.errno.Error(), err.Error())
	}
}
