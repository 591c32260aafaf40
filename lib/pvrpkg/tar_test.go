package pvrpkg

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type tarFile struct {
	name string
	typ  byte
	body string
}

// readAll lists an archive with our reader: name, type and body.
func readAll(t *testing.T, data []byte) []tarFile {
	t.Helper()
	tr := newTarReader(bytes.NewReader(data))
	var out []tarFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, tarFile{h.Name, h.Typeflag, string(body)})
	}
}

// TestTarReaderMatchesArchiveTar: archives written by archive/tar in each
// format read back identically with our reader.
func TestTarReaderMatchesArchiveTar(t *testing.T) {
	long := strings.Repeat("d/", 60) + "file" // > 100 bytes: needs prefix, pax or GNU
	files := []tarFile{
		{"json", typeReg, `{"#spec":"pantavisor-service-system@1"}`},
		{"objects/", typeDir, ""},
		{"objects/" + strings.Repeat("ab", 32), typeReg, strings.Repeat("x", 1000)},
		{"empty", typeReg, ""},
		{"exact", typeReg, strings.Repeat("y", 512)},
		{"link", typeSymlink, ""},
		{long, typeReg, "deep"},
	}
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU} {
		t.Run(format.String(), func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, f := range files {
				hdr := &tar.Header{Name: f.name, Typeflag: f.typ, Size: int64(len(f.body)), Mode: 0o644, Format: format}
				if f.typ == typeSymlink {
					hdr.Linkname = "json"
				}
				require.NoError(t, tw.WriteHeader(hdr))
				_, err := tw.Write([]byte(f.body))
				require.NoError(t, err)
			}
			require.NoError(t, tw.Close())
			assert.Equal(t, files, readAll(t, buf.Bytes()))
		})
	}
}

func TestTarReaderRejects(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "json", Typeflag: tar.TypeReg, Size: 3}))
	tw.Write([]byte("abc"))
	tw.Close()
	good := buf.Bytes()

	badSum := bytes.Clone(good)
	badSum[0] = 'J'
	_, err := newTarReader(bytes.NewReader(badSum)).Next()
	assert.ErrorIs(t, err, errTarHeader)
	assert.ErrorContains(t, err, "bad checksum")

	tr := newTarReader(bytes.NewReader(good[:512+2]))
	_, err = tr.Next()
	require.NoError(t, err)
	_, err = io.ReadAll(tr)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "body cut short")

	_, err = newTarReader(bytes.NewReader(good[:100])).Next()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "header cut short")

	n, err := parseNumber([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	require.NoError(t, err)
	assert.EqualValues(t, 256, n, "GNU base-256 size")
	_, err = parseNumber([]byte("12x4"))
	assert.Error(t, err)

	for _, rec := range []string{"5 a=b\n", "x", "30 path=a\n", "9 nokey\n", "11 size=-1\n"} {
		_, _, err := parsePax([]byte(rec), "", -1)
		assert.ErrorIs(t, err, errTarHeader, "%q", rec)
	}
	p, sz, err := parsePax([]byte("11 path=ab\n12 size=100\n"), "", -1)
	require.NoError(t, err)
	assert.Equal(t, "ab", p)
	assert.EqualValues(t, 100, sz)
}
