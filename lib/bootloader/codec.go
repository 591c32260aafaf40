package bootloader

import (
	"bytes"
	"strings"

	"pantavisor/lib/printf"
)

// codec is a file format of an env.
type codec int

const (
	grubCodec  codec = iota // GRUB env block
	ubootCodec              // uboot.txt: NUL-separated key=value
)

// grubHeader starts every GRUB env block.
const grubHeader = "# GRUB Environment Block\n"

func (c codec) parse(b []byte) ([]entry, error) {
	if c == grubCodec {
		return parseGrub(b)
	}
	return parseUboot(b)
}

func (c codec) encode(vars []entry) ([]byte, error) {
	if c == grubCodec {
		return encodeGrub(vars)
	}
	return encodeUboot(vars)
}

// check refuses a key or value the format cannot hold. Both formats:
// a non-empty key without '=' or NUL, a value without NUL (GRUB and
// U-Boot keep C strings). GRUB also: no newline in the key (it ends the
// line) and no leading '#' (a comment line).
func (c codec) check(key, value string) error {
	bad := ""
	switch {
	case key == "":
		bad = "empty key"
	case strings.ContainsAny(key, "=\x00"):
		bad = "'=' or NUL in the key"
	case strings.IndexByte(value, 0) >= 0:
		bad = "NUL in the value"
	case c == grubCodec && strings.IndexByte(key, '\n') >= 0:
		bad = "newline in the key"
	case c == grubCodec && key[0] == '#':
		bad = "key starts with '#'"
	}
	if bad != "" {
		return printf.Errorf("%w %q: %s", ErrInvalid, key, bad)
	}
	return nil
}

// parseGrub reads a GRUB env block exactly as GRUB's grub_envblk_iterate
// does: after the header, lines starting with '#' are skipped; a variable
// is the bytes up to the next '=' (even across a newline), its value runs
// to the next unescaped newline, and a backslash escapes the byte after
// it. A missing header yields nothing; a broken entry (no '=' or no final
// newline) ends the block. Both are ErrCorrupt, with what was read so far.
// Any size is accepted, as GRUB does; a repeated key keeps its first place
// and its last value (load_env sets each in turn).
func parseGrub(b []byte) ([]entry, error) {
	if !bytes.HasPrefix(b, []byte(grubHeader)) {
		return nil, printf.Errorf("%w: no %q header", ErrCorrupt, strings.TrimSpace(grubHeader))
	}
	var vars []entry
	for p := b[len(grubHeader):]; len(p) > 0; {
		if p[0] == '#' {
			p = afterLine(p)
			continue
		}
		eq := bytes.IndexByte(p, '=')
		if eq < 0 {
			return vars, printf.Errorf("%w: entry without '=' at byte %d", ErrCorrupt, len(b)-len(p))
		}
		value, rest, ok := grubValue(p[eq+1:])
		if !ok {
			return vars, printf.Errorf("%w: unterminated value at byte %d", ErrCorrupt, len(b)-len(p))
		}
		vars = setVar(vars, string(p[:eq]), value)
		p = rest
	}
	return vars, nil
}

// afterLine returns p after its first newline (empty if none).
func afterLine(p []byte) []byte {
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		return p[i+1:]
	}
	return nil
}

// grubValue unescapes a value up to its newline and returns the rest
// after it; false when no unescaped newline ends it.
func grubValue(p []byte) (string, []byte, bool) {
	var v []byte
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\n':
			return string(v), p[i+1:], true
		case '\\':
			i++
			if i == len(p) {
				return "", nil, false
			}
		}
		v = append(v, p[i])
	}
	return "", nil, false
}

// encodeGrub writes a GRUB env block: header, "key=value\n" lines with
// '\\' and newline escaped by a backslash (as grub-editenv writes them),
// '#' padding to BlockSize.
func encodeGrub(vars []entry) ([]byte, error) {
	b := make([]byte, 0, BlockSize)
	b = append(b, grubHeader...)
	for _, v := range vars {
		b = append(b, v.key...)
		b = append(b, '=')
		for i := 0; i < len(v.value); i++ {
			if c := v.value[i]; c == '\\' || c == '\n' {
				b = append(b, '\\')
			}
			b = append(b, v.value[i])
		}
		b = append(b, '\n')
	}
	return pad(b, '#')
}

// parseUboot reads uboot.txt: "key=value" entries each ended by NUL; the
// first empty entry (two NULs, or the NUL padding) ends the env, as in
// U-Boot's own env format. An entry without '=' is skipped and a last
// entry without its NUL is kept; both are reported as ErrCorrupt.
func parseUboot(b []byte) ([]entry, error) {
	var vars []entry
	var bad error
	for len(b) > 0 && b[0] != 0 {
		item, rest, found := bytes.Cut(b, []byte{0})
		if !found && bad == nil {
			bad = printf.Errorf("%w: last entry not NUL-terminated", ErrCorrupt)
		}
		k, v, ok := bytes.Cut(item, []byte{'='})
		if ok && len(k) > 0 {
			vars = setVar(vars, string(k), string(v))
		} else if bad == nil {
			bad = printf.Errorf("%w: entry %q without a key=value", ErrCorrupt, item)
		}
		b = rest
	}
	return vars, bad
}

// encodeUboot writes uboot.txt: "key=value\0" entries, NUL padding to
// BlockSize with at least one NUL after the last entry (the end mark).
func encodeUboot(vars []entry) ([]byte, error) {
	b := make([]byte, 0, BlockSize)
	for _, v := range vars {
		b = append(b, v.key...)
		b = append(b, '=')
		b = append(b, v.value...)
		b = append(b, 0)
	}
	if len(b) >= BlockSize {
		return nil, printf.Errorf("%w (%d bytes and the end mark)", ErrTooBig, len(b))
	}
	return pad(b, 0)
}

// pad fills b up to BlockSize with c.
func pad(b []byte, c byte) ([]byte, error) {
	if len(b) > BlockSize {
		return nil, printf.Errorf("%w (%d bytes)", ErrTooBig, len(b))
	}
	for len(b) < BlockSize {
		b = append(b, c)
	}
	return b, nil
}
