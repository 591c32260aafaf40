package cert

import (
	"bytes"
	"io"

	"pantavisor/lib/b64"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrPEM is wrapped by PEM decoding errors.
var ErrPEM error = &sentinel.Error{Text: "malformed PEM"}

// PEMBlocks returns the DER contents of every "-----BEGIN typ-----" …
// "-----END typ-----" block of data, in order. Text outside blocks and
// blocks of other types are skipped; a block of type typ with headers, a
// missing END line or bad base64 (standard alphabet, padded, whitespace
// between characters ignored) is an error.
func PEMBlocks(data []byte, typ string) ([][]byte, error) {
	begin, end := "-----BEGIN "+typ+"-----", "-----END "+typ+"-----"
	var out [][]byte
	var body []byte
	in := false
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		line = bytes.TrimSpace(line)
		switch {
		case !in:
			in = string(line) == begin
			body = body[:0]
		case string(line) == end:
			der, ok := b64.DecodeStd(string(body))
			if !ok || len(der) == 0 {
				return nil, printf.Errorf("%w: bad base64 in the block ending on line %d", ErrPEM, n)
			}
			out = append(out, der)
			in = false
		case bytes.IndexByte(line, ':') >= 0 || bytes.HasPrefix(line, []byte("-----")):
			return nil, printf.Errorf("%w: line %d: unexpected %q in a %s block", ErrPEM, n, line, typ)
		default:
			for _, c := range line {
				if c != ' ' && c != '\t' {
					body = append(body, c)
				}
			}
		}
	}
	if in {
		return nil, printf.Errorf("%w: no %q line", ErrPEM, end)
	}
	return out, nil
}

// ParseBundle reads the PEM CERTIFICATE blocks of a bundle (see PEMBlocks)
// and parses each.
func ParseBundle(r io.Reader) ([]*Cert, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	blocks, err := PEMBlocks(data, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	out := make([]*Cert, 0, len(blocks))
	for i, b := range blocks {
		c, err := Parse(b)
		if err != nil {
			return nil, printf.Errorf("certificate %d: %w", i+1, err)
		}
		out = append(out, c)
	}
	return out, nil
}
