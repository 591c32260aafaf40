package cpio

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sample() []Entry {
	return []Entry{
		{Name: "/usr/bin/pantavisor", Mode: TypeReg | 0o755, Data: []byte("\x7fELF binary"), UID: 1000, MTime: 12345},
		{Name: "usr", Mode: TypeDir | 0o755},
		{Name: "./usr/bin", Mode: TypeDir | 0o755},
		{Name: "init", Mode: TypeLink | 0o777, Link: "usr/bin/pantavisor"},
		{Name: "dev", Mode: TypeDir | 0o755},
		{Name: "dev/console", Mode: TypeChar | 0o600, Major: 5, Minor: 1},
		{Name: "empty", Mode: TypeReg | 0o644},
	}
}

func TestCleanNames(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b": "a/b", "./a": "a", "a/../b": "b", "../../etc": "etc", "/": "", ".": "", "a//b/": "a/b",
	} {
		assert.Equal(t, want, Clean(in), "Clean(%q)", in)
	}
}

func TestReproducibleSortsAndZeroes(t *testing.T) {
	es := Reproducible(sample())
	var names []string
	for _, e := range es {
		names = append(names, e.Name)
		assert.Zero(t, e.UID, e.Name)
		assert.Zero(t, e.MTime, e.Name)
	}
	assert.Equal(t, []string{"dev", "dev/console", "empty", "init", "usr", "usr/bin", "usr/bin/pantavisor"}, names)
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := Reproducible(sample())
	require.NoError(t, Write(&buf, in))
	assert.Zero(t, buf.Len()%4, "archive length is a multiple of 4")
	out, err := Read(&buf, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

func TestSameInputSameBytes(t *testing.T) {
	var a, b bytes.Buffer
	require.NoError(t, Write(&a, Reproducible(sample())))
	s := sample()
	s[0], s[3] = s[3], s[0] // input order must not matter
	require.NoError(t, Write(&b, Reproducible(s)))
	assert.Equal(t, a.Bytes(), b.Bytes())
}

func TestReadRejects(t *testing.T) {
	var good bytes.Buffer
	require.NoError(t, Write(&good, Reproducible(sample())))
	cases := map[string][]byte{
		"empty":      nil,
		"bad magic":  append([]byte("070707"), good.Bytes()[6:]...),
		"truncated":  good.Bytes()[:200],
		"no trailer": good.Bytes()[:good.Len()-124],
		"bad hex":    append(append([]byte{}, good.Bytes()[:6]...), append([]byte("zzzzzzzz"), good.Bytes()[14:]...)...),
	}
	for name, data := range cases {
		_, err := Read(bytes.NewReader(data), 1<<20)
		assert.ErrorIs(t, err, ErrFormat, name)
	}
	_, err := Read(bytes.NewReader(good.Bytes()), 4)
	assert.ErrorIs(t, err, ErrFormat, "member larger than maxData")
}

// TestDebianCpioAccepts checks the archive against GNU cpio's own reader.
func TestDebianCpioAccepts(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("SKIP: needs GNU cpio (apt-get install cpio; make deps installs it)")
	}
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, Reproducible(sample())))
	cmd := exec.Command("cpio", "-t", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "dev\ndev/console\nempty\ninit\nusr\nusr/bin\nusr/bin/pantavisor\n", string(out))
	assert.False(t, strings.Contains(string(out), "warning"))
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, Reproducible(sample())); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("070701"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := Read(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		// Whatever parsed must write and read back the same.
		var out bytes.Buffer
		if err := Write(&out, es); err != nil {
			t.Fatal(err)
		}
		back, err := Read(&out, 1<<16)
		if err != nil {
			t.Fatalf("re-read of written archive: %v", err)
		}
		if len(back) != len(es) {
			t.Fatalf("round trip changed the entry count: %d != %d", len(back), len(es))
		}
	})
}

func FuzzWrite(f *testing.F) {
	f.Add("usr/bin/x", []byte("data"), uint32(TypeReg|0o755))
	f.Add("init", []byte("usr/bin/x"), uint32(TypeLink|0o777))
	f.Fuzz(func(t *testing.T, name string, data []byte, mode uint32) {
		if strings.IndexByte(name, 0) >= 0 || len(name) > maxName-1 {
			return
		}
		in := Reproducible([]Entry{{Name: name, Mode: mode, Data: data, Link: string(data)}})
		var buf bytes.Buffer
		if err := Write(&buf, in); err != nil {
			t.Fatal(err)
		}
		out, err := Read(&buf, 1<<20)
		if err != nil {
			t.Fatalf("reading what Write wrote: %v", err)
		}
		if len(out) != len(in) {
			t.Fatalf("got %d entries, want %d", len(out), len(in))
		}
	})
}

// TestXZ: the packed archive is one xz stream with the CRC32 check the
// kernel's decoder needs, a dictionary no larger than 1 MiB and the BCJ
// filter asked for (xz --list and BCJOf both say which), and Unxz and
// xz -dc unpack it to the archive; an unknown filter and a missing xz(1)
// get an error.
func TestXZ(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("SKIPPED, MISSING CAPABILITY: needs xz on PATH (make deps installs xz-utils)")
	}
	var archive bytes.Buffer
	require.NoError(t, Write(&archive, Reproducible(sample())))
	for _, bcj := range []string{"", "x86", "arm64", "arm"} {
		packed, err := XZ(archive.Bytes(), bcj)
		require.NoError(t, err)
		require.Greater(t, len(packed), 12)
		assert.Equal(t, []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 0x01}, packed[:8], "xz magic, stream flags: CRC32")
		f := t.TempDir() + "/a.xz"
		require.NoError(t, os.WriteFile(f, packed, 0o644))
		list, err := exec.Command("xz", "--robot", "--list", "-vv", f).Output()
		require.NoError(t, err)
		assert.Contains(t, string(list), "\tCRC32\t", "check")
		filters := "--lzma2=dict=1MiB"
		if bcj != "" {
			filters = "--" + bcj + " " + filters
		}
		assert.Contains(t, string(list), "\t"+filters+"\n", "filters")
		got, err := BCJOf(packed)
		require.NoError(t, err)
		assert.Equal(t, bcj, got)
		out, err := exec.Command("xz", "-dc", f).Output()
		require.NoError(t, err)
		assert.Equal(t, archive.Bytes(), out)
		out, err = Unxz(packed)
		require.NoError(t, err)
		assert.Equal(t, archive.Bytes(), out)
	}

	_, err := XZ(archive.Bytes(), "m68k")
	assert.ErrorContains(t, err, `no BCJ filter "m68k"`)
	for _, bad := range [][]byte{nil, []byte("\xfd7zXZ\x00\x00\x01"), []byte("not xz at all, but long")} {
		_, err = BCJOf(bad)
		assert.Error(t, err, "BCJOf(%q)", bad)
	}
	_, err = Unxz([]byte("not xz"))
	assert.ErrorContains(t, err, "xz: ")
	t.Setenv("PATH", "")
	_, err = XZ(archive.Bytes(), "")
	assert.ErrorContains(t, err, "xz: ")
}
