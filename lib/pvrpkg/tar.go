package pvrpkg

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// A small tar reader: the ustar, GNU and pax features pvr packages use.
// archive/tar cost 164 KB (54 KB xz) of the device binary and brings
// os/user; this is a few KB. Entry types are passed through so the caller
// can refuse what it does not accept.

const blockSize = 512

// Tar entry types (POSIX ustar, GNU and pax).
const (
	typeReg       = '0'
	typeRegOld    = '\x00'
	typeLink      = '1'
	typeSymlink   = '2'
	typeChar      = '3'
	typeBlock     = '4'
	typeDir       = '5'
	typeFifo      = '6'
	typeCont      = '7' // contiguous file: a regular file
	typePax       = 'x'
	typePaxGlobal = 'g'
	typeGNULong   = 'L'
	typeGNULink   = 'K'
)

// maxMetaSize bounds pax and GNU long-name records.
const maxMetaSize = 1 << 20

var errTarHeader error = &sentinel.Error{Text: "invalid tar header"}

type tarHeader struct {
	Name     string
	Size     int64
	Typeflag byte
}

type tarReader struct {
	r      io.Reader
	remain int64 // unread bytes of the current entry
	pad    int64 // padding after the current entry
	block  [blockSize]byte
}

func newTarReader(r io.Reader) *tarReader { return &tarReader{r: r} }

// Read reads the body of the current entry.
func (tr *tarReader) Read(p []byte) (int, error) {
	if tr.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > tr.remain {
		p = p[:tr.remain]
	}
	n, err := tr.r.Read(p)
	tr.remain -= int64(n)
	if err == io.EOF && tr.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Next skips what is left of the current entry and returns the next
// header, with pax and GNU long names applied; io.EOF at the end.
func (tr *tarReader) Next() (*tarHeader, error) {
	if _, err := io.CopyN(io.Discard, tr.r, tr.remain+tr.pad); err != nil {
		return nil, unexpected(err)
	}
	tr.remain, tr.pad = 0, 0
	var longName, paxPath string
	paxSize := int64(-1)
	for {
		hdr, err := tr.readHeader()
		if err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case typePax, typeGNULong:
			meta, err := tr.readMeta(hdr.Size)
			if err != nil {
				return nil, err
			}
			if hdr.Typeflag == typeGNULong {
				longName = string(bytes.TrimRight(meta, "\x00"))
			} else if paxPath, paxSize, err = parsePax(meta, paxPath, paxSize); err != nil {
				return nil, err
			}
			continue
		case typePaxGlobal, typeGNULink:
			if _, err := tr.readMeta(hdr.Size); err != nil {
				return nil, err
			}
			if hdr.Typeflag == typePaxGlobal {
				return hdr, nil
			}
			continue
		}
		switch {
		case longName != "":
			hdr.Name = longName
		case paxPath != "":
			hdr.Name = paxPath
		}
		if paxSize >= 0 {
			hdr.Size = paxSize
		}
		tr.remain, tr.pad = hdr.Size, -hdr.Size&(blockSize-1)
		return hdr, nil
	}
}

// readHeader reads one header block; io.EOF on an end-of-archive block
// or a clean end of input.
func (tr *tarReader) readHeader() (*tarHeader, error) {
	b := tr.block[:]
	if _, err := io.ReadFull(tr.r, b); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, unexpected(err)
	}
	if bytes.Count(b, []byte{0}) == blockSize {
		return nil, io.EOF
	}
	if err := checkSum(b); err != nil {
		return nil, err
	}
	size, err := parseNumber(b[124:136])
	if err != nil {
		return nil, printf.Errorf("%w: size: %v", errTarHeader, err)
	}
	h := &tarHeader{Name: cString(b[0:100]), Size: size, Typeflag: b[156]}
	if string(b[257:263]) == "ustar\x00" { // POSIX: name may have a prefix
		if prefix := cString(b[345:500]); prefix != "" {
			h.Name = prefix + "/" + h.Name
		}
	}
	switch {
	case h.Typeflag == typeRegOld && len(h.Name) > 0 && h.Name[len(h.Name)-1] == '/':
		h.Typeflag = typeDir // pre-POSIX directory
	case h.Typeflag == typeRegOld || h.Typeflag == typeCont:
		h.Typeflag = typeReg
	}
	return h, nil
}

// readMeta reads the body of a metadata entry (pax, long name).
func (tr *tarReader) readMeta(size int64) ([]byte, error) {
	if size > maxMetaSize {
		return nil, printf.Errorf("%w: metadata entry of %d bytes", errTarHeader, size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(tr.r, buf); err != nil {
		return nil, unexpected(err)
	}
	if _, err := io.CopyN(io.Discard, tr.r, -size&(blockSize-1)); err != nil {
		return nil, unexpected(err)
	}
	return buf, nil
}

// checkSum verifies the header checksum (sum of the bytes with the
// checksum field read as spaces; old tars summed signed bytes).
func checkSum(b []byte) error {
	want, err := parseNumber(b[148:156])
	if err != nil {
		return printf.Errorf("%w: checksum field: %v", errTarHeader, err)
	}
	var unsigned, signed int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	if want != unsigned && want != signed {
		return printf.Errorf("%w: bad checksum", errTarHeader)
	}
	return nil
}

// parseNumber reads an octal field, or a GNU base-256 one.
func parseNumber(f []byte) (int64, error) {
	if len(f) > 0 && f[0]&0x80 != 0 {
		var n int64
		for i, c := range f {
			if i == 0 {
				c &= 0x7f
			}
			if n > (1<<55)-1 {
				return 0, errors.New("number too large")
			}
			n = n<<8 | int64(c)
		}
		return n, nil
	}
	s := string(bytes.Trim(f, " \x00"))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 8, 64)
	if err != nil || n < 0 {
		return 0, printf.Errorf("invalid octal %q", s)
	}
	return n, nil
}

// parsePax reads "<len> key=value\n" records, keeping path and size.
func parsePax(meta []byte, path string, size int64) (string, int64, error) {
	for len(meta) > 0 {
		sp := bytes.IndexByte(meta, ' ')
		if sp <= 0 {
			return "", 0, printf.Errorf("%w: pax record", errTarHeader)
		}
		n, err := strconv.Atoi(string(meta[:sp]))
		if err != nil || n <= sp+1 || n > len(meta) || meta[n-1] != '\n' {
			return "", 0, printf.Errorf("%w: pax record length", errTarHeader)
		}
		key, value, ok := bytes.Cut(meta[sp+1:n-1], []byte("="))
		if !ok {
			return "", 0, printf.Errorf("%w: pax record without '='", errTarHeader)
		}
		switch string(key) {
		case "path":
			path = string(value)
		case "size":
			if size, err = strconv.ParseInt(string(value), 10, 64); err != nil || size < 0 {
				return "", 0, printf.Errorf("%w: pax size %q", errTarHeader, value)
			}
		}
		meta = meta[n:]
	}
	return path, size, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
