package pvrpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const resources = "../../testdata/conformance/pvtx/resources/"

// member is one tar entry of a package built by a test.
type member struct {
	name string
	typ  byte // tar.TypeReg when 0
	body string
	link string
	size int64 // header size when not len(body) (the body is then not written)
}

// makeTar writes members as a plain tar.
func makeTar(t testing.TB, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: 0o644, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		if m.size != 0 {
			h.Size = m.size
		}
		require.NoError(t, tw.WriteHeader(h))
		if m.size == 0 {
			_, err := tw.Write([]byte(m.body))
			require.NoError(t, err)
		}
	}
	if ms == nil || ms[len(ms)-1].size == 0 {
		require.NoError(t, tw.Close())
	}
	return buf.Bytes()
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func shaHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// collect walks data and returns the entries and their bodies.
func collect(data []byte) ([]Entry, map[string][]byte, error) {
	var es []Entry
	bodies := map[string][]byte{}
	err := Walk(bytes.NewReader(data), func(e Entry, body io.Reader) error {
		b, err := io.ReadAll(body)
		es = append(es, e)
		bodies[e.Name] = b
		return err
	})
	return es, bodies, err
}

func TestWalkConformancePackages(t *testing.T) {
	tests := []struct {
		file  string
		sizes map[string]int64
	}{
		{"pvwificonnect.tgz", map[string]int64{
			"json": 4314,
			"objects/25b1baa45a1ff796001980743878b169b7623c368f55a0a073df893121791929": 842,
			"objects/3768b42894f3ad1867563c7aa68cb67d8d8ec04f1f27208268750df6d1f6b959": 71,
			"objects/d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c": 3571712,
		}},
		{"watchdog_pinger.tar", map[string]int64{
			"json": 1451,
			"objects/2a267f8d5a928c8d4bdab8ca126df84e5c8f989d1150e7b0766515f6befaaa44": 450560,
			"objects/d5b764cc7c7391e5a505d4b4964ec402ac417e58ee5b538105b960a462f8b911": 631,
			"objects/f1379c31ed0d24b03f8780a0bbf01b86720ec877eefdc0adc34eb679a4310235": 71,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(resources + tt.file)
			require.NoError(t, err)
			es, bodies, err := collect(data)
			require.NoError(t, err)
			sizes := map[string]int64{}
			for _, e := range es {
				sizes[e.Name] = e.Size
				assert.Len(t, bodies[e.Name], int(e.Size), e.Name)
				if e.Name == StateFile {
					assert.Empty(t, e.SHA)
					assert.True(t, bytes.HasPrefix(bodies[e.Name], []byte(`{"#spec":`)))
					continue
				}
				assert.Equal(t, ObjectsPrefix+e.SHA, e.Name)
				assert.Equal(t, e.SHA, shaHex(string(bodies[e.Name])), "object bytes hash to their name")
			}
			assert.Equal(t, tt.sizes, sizes)
			assert.Equal(t, StateFile, es[0].Name, "pvr writes the state first")
		})
	}
}

func TestWalkCleansNamesAndSkipsDirs(t *testing.T) {
	obj := "hello"
	data := makeTar(t,
		member{name: "./", typ: tar.TypeDir},
		member{name: "./json", body: "{}"},
		member{name: "./objects/", typ: tar.TypeDir},
		member{name: "./objects/" + shaHex(obj), body: obj},
	)
	for _, in := range [][]byte{data, gz(t, data)} {
		es, _, err := collect(in)
		require.NoError(t, err)
		assert.Equal(t, []Entry{
			{Name: "json", Size: 2},
			{Name: "objects/" + shaHex(obj), Size: 5, SHA: shaHex(obj)},
		}, es)
	}
}

func TestWalkErrors(t *testing.T) {
	sha := shaHex("x")
	tests := []struct {
		name string
		ms   []member
		is   error
		msg  string
	}{
		{"symlink", []member{{name: "json", typ: tar.TypeSymlink, link: "/etc/passwd"}}, ErrNotRegular,
			`reading package: entry "json": not a regular file (symlink)`},
		{"hard link", []member{{name: "json", body: "{}"}, {name: "objects/" + sha, typ: tar.TypeLink, link: "json"}},
			ErrNotRegular, `reading package: entry "objects/` + sha + `": not a regular file (hard link)`},
		{"fifo", []member{{name: "json", typ: tar.TypeFifo}}, ErrNotRegular,
			`reading package: entry "json": not a regular file (fifo)`},
		{"dot dot", []member{{name: "../x", body: "x"}}, ErrUnsafeName,
			`reading package: entry "../x": unsafe name: '..' in path`},
		{"dot dot inside", []member{{name: "objects/../../json", body: "x"}}, ErrUnsafeName,
			`reading package: entry "objects/../../json": unsafe name: '..' in path`},
		{"dot dot dir", []member{{name: "../", typ: tar.TypeDir}}, ErrUnsafeName,
			`reading package: entry "../": unsafe name: '..' in path`},
		{"absolute", []member{{name: "/json", body: "{}"}}, ErrUnsafeName,
			`reading package: entry "/json": unsafe name: absolute path`},
		{"backslash", []member{{name: `objects\x`, body: "x"}}, ErrUnsafeName,
			`reading package: entry "objects\\x": unsafe name: backslash in path`},
		{"unknown file", []member{{name: "json", body: "{}"}, {name: "README", body: "hi"}}, ErrUnexpected,
			`reading package: unexpected file "README" in package`},
		{"uppercase sha", []member{{name: "objects/" + strings.ToUpper(sha), body: "x"}}, ErrUnexpected,
			`reading package: unexpected file "objects/` + strings.ToUpper(sha) + `" in package`},
		{"short sha", []member{{name: "objects/abc", body: "x"}}, ErrUnexpected,
			`reading package: unexpected file "objects/abc" in package`},
		{"duplicate", []member{{name: "json", body: "{}"}, {name: "./json", body: "{}"}}, ErrDuplicate,
			`reading package: entry "json": duplicate entry`},
		{"oversized json", []member{{name: "json", size: MaxStateSize + 1}}, ErrTooLarge,
			`reading package: entry "json": state json too large: 16777217 bytes, limit 16777216`},
	}
	for _, tt := range tests {
		data := makeTar(t, tt.ms...)
		for _, kind := range []string{"tar", "gzip"} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				in := data
				if kind == "gzip" {
					in = gz(t, data)
				}
				_, _, err := collect(in)
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.is)
				assert.EqualError(t, err, tt.msg)
			})
		}
	}
}

func TestWalkNULInPAXNameIsRejected(t *testing.T) {
	// archive/tar refuses to write a NUL in a name, and its reader cuts
	// ustar names at the first NUL; CheckPath still guards the case.
	_, _, err := checkEntry(&tarHeader{Name: "json\x00x", Typeflag: typeReg})
	assert.ErrorIs(t, err, ErrUnsafeName)
	assert.ErrorContains(t, err, "NUL in path")
}

func TestWalkCorruptStreams(t *testing.T) {
	pkg := makeTar(t, member{name: "json", body: strings.Repeat(`{"#spec":"x"}`, 100)})
	z := gz(t, pkg)
	badCRC := bytes.Clone(z)
	badCRC[len(badCRC)-5] ^= 0xff
	tests := []struct {
		name string
		data []byte
		is   error
	}{
		{"gzip cut in the middle", z[:len(z)/2], io.ErrUnexpectedEOF},
		{"gzip trailer missing", z[:len(z)-8], io.ErrUnexpectedEOF},
		{"gzip bad checksum", badCRC, gzip.ErrChecksum},
		{"gzip header only", z[:5], io.ErrUnexpectedEOF},
		{"tar cut in a body", pkg[:600], io.ErrUnexpectedEOF},
		{"not a tar", []byte(strings.Repeat("x", 1024)), errTarHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := collect(tt.data)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.is)
			assert.True(t, strings.HasPrefix(err.Error(), "reading package: "), err.Error())
		})
	}
}

func TestWalkTrailingDataInGzip(t *testing.T) {
	pkg := makeTar(t, member{name: "json", body: "{}"})
	pkg = append(pkg, make([]byte, maxTrailing+10)...)
	_, _, err := collect(gz(t, pkg))
	assert.ErrorContains(t, err, "after the end of the tar archive")

	pkg = append(makeTar(t, member{name: "json", body: "{}"}), make([]byte, 9216)...) // GNU tar record padding
	_, _, err = collect(gz(t, pkg))
	assert.NoError(t, err)
}

func TestWalkCallbackError(t *testing.T) {
	errStop := errors.New("stop")
	data := makeTar(t, member{name: "json", body: "{}"})
	err := Walk(bytes.NewReader(data), func(Entry, io.Reader) error { return errStop })
	assert.ErrorIs(t, err, errStop)
	assert.EqualError(t, err, "reading package: json: stop")
}

func TestIsPackage(t *testing.T) {
	tarData := makeTar(t, member{name: "json", body: "{}"})
	assert.True(t, IsPackage(tarData[:512]))
	assert.True(t, IsPackage(gz(t, tarData)[:2]))
	assert.False(t, IsPackage([]byte(`{"#spec":"pantavisor-service-system@1"}`)))
	assert.False(t, IsPackage(nil))
	assert.False(t, IsPackage([]byte{0x1f}))
}

func TestScan(t *testing.T) {
	f, err := os.Open(resources + "pvwificonnect.tgz")
	require.NoError(t, err)
	defer f.Close()
	c, err := Scan(f)
	require.NoError(t, err)
	assert.Len(t, c.State, 4314)
	assert.Equal(t, map[string]int64{
		"25b1baa45a1ff796001980743878b169b7623c368f55a0a073df893121791929": 842,
		"3768b42894f3ad1867563c7aa68cb67d8d8ec04f1f27208268750df6d1f6b959": 71,
		"d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c": 3571712,
	}, c.Objects)

	_, err = Scan(bytes.NewReader(makeTar(t, member{name: "objects/" + shaHex("x"), body: "x"})))
	assert.ErrorIs(t, err, ErrNoState)
	assert.EqualError(t, err, "reading package: no state json")

	c, err = Scan(bytes.NewReader(makeTar(t, member{name: "json"})))
	require.NoError(t, err, "an empty state file is found (state parsing rejects it later)")
	assert.Empty(t, c.State)
}

func FuzzWalk(f *testing.F) {
	obj := "hello"
	good := makeTar(f, member{name: "json", body: `{"#spec":"pantavisor-service-system@1"}`},
		member{name: "objects/" + shaHex(obj), body: obj})
	f.Add(good)
	f.Add(gz(f, good))
	f.Add(makeTar(f, member{name: "./objects/", typ: tar.TypeDir}, member{name: "x", typ: tar.TypeSymlink, link: "/"}))
	f.Add(gz(f, makeTar(f, member{name: "../json", body: "{}"})))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		var total int64
		err := Walk(bytes.NewReader(data), func(e Entry, body io.Reader) error {
			if e.SHA == "" && e.Name != StateFile {
				t.Fatalf("entry %q: neither state nor object", e.Name)
			}
			n, err := io.Copy(io.Discard, io.LimitReader(body, 64<<20))
			total += n
			return err
		})
		if err != nil && !strings.HasPrefix(err.Error(), "reading package: ") {
			t.Fatalf("error without prefix: %v", err)
		}
	})
}
