package b64

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeURL(t *testing.T) {
	for _, s := range []string{"", "Zg", "Zm8", "Zm9v", "eyJhbGciOiJSUzI1NiJ9", "_-_-", "AAECAwQFBgcICQoLDA0ODw"} {
		want, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		got, ok := DecodeURL(s)
		assert.True(t, ok, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"Z", "Zh", "a+b/", "ab=c", "Zm9vY"} {
		_, ok := DecodeURL(s)
		assert.False(t, ok, s)
	}
}

func FuzzDecodeURL(f *testing.F) {
	for _, s := range []string{"", "Zg", "Zm8", "eyJhbGciOiJSUzI1NiJ9", "Zh", "a+b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") { // the stdlib decoder skips newlines
			return
		}
		want, err := base64.RawURLEncoding.Strict().DecodeString(s)
		got, ok := DecodeURL(s)
		if ok != (err == nil) || (ok && !bytes.Equal(want, got)) {
			t.Fatalf("%q: got %q %v, want %q %v", s, got, ok, want, err)
		}
	})
}

func TestDecodeStd(t *testing.T) {
	for _, s := range []string{"", "Zg==", "Zm8=", "Zm9v", "+/+/", "MIIC+w=="} {
		want, err := base64.StdEncoding.DecodeString(s)
		require.NoError(t, err)
		got, ok := DecodeStd(s)
		assert.True(t, ok, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"Zg", "Zg=", "Z===", "-_-_", "Zm9v====", "Zh==", "=Zm9", "Zg=a"} {
		_, ok := DecodeStd(s)
		assert.False(t, ok, s)
	}
}

func FuzzDecodeStd(f *testing.F) {
	for _, s := range []string{"", "Zg==", "Zm8=", "+/+/", "Zh==", "a-b_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") { // the stdlib decoder skips newlines
			return
		}
		want, err := base64.StdEncoding.Strict().DecodeString(s)
		got, ok := DecodeStd(s)
		if ok != (err == nil) || (ok && !bytes.Equal(want, got)) {
			t.Fatalf("%q: got %q %v, want %q %v", s, got, ok, want, err)
		}
	})
}

func TestAppendURL(t *testing.T) {
	for _, s := range []string{"", "f", "fo", "foo", "foob", "\xff\xfe\xfd\x00", "{\"alg\":\"RS256\"}"} {
		got := AppendURL([]byte("x."), []byte(s))
		assert.Equal(t, "x."+base64.RawURLEncoding.EncodeToString([]byte(s)), string(got), s)
		back, ok := DecodeURL(string(got[2:]))
		assert.True(t, ok)
		assert.Equal(t, s, string(back))
	}
}
