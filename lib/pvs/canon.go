package pvs

import (
	"bytes"
	"sort"
	"strconv"

	"pantavisor/lib/printf"
	"pantavisor/lib/rawjson"
	"pantavisor/lib/sentinel"
)

// ErrCanonical is wrapped by every error of the canonical encoder.
var ErrCanonical error = &sentinel.Error{Text: "cannot encode as canonical JSON"}

// maxZeros bounds the zeros an integer written with an exponent expands to
// ("1E1000000000" would otherwise be a gigabyte).
const maxZeros = 1000

// AppendCanonical appends v in the canonical form of canonicaljson-spec as
// github.com/gibson042/canonicaljson-go writes it:
//   - no whitespace; object members sorted by the bytes of their decoded
//     names (UTF-8 byte order is code point order);
//   - strings escape only '"', '\\' and U+0000..U+001F, with \b \t \n \f \r
//     where they exist and \u00XX (uppercase hex) otherwise; every other
//     character is written as itself (lone surrogates were already turned
//     into U+FFFD by rawjson, as encoding/json does);
//   - integers (numbers whose fraction is zero) without sign for zero,
//     point, exponent or leading zeros; other numbers as d.dddEn with a
//     capital E, no '+', no leading or trailing zeros ("1.0E-1").
//
// Numbers are normalised from their literal text, as canonicaljson-go does
// for json.Number; a literal that float64 cannot hold exactly may differ from
// what a float64 decoder would produce. An object with a duplicate member
// name is an error: a map keeps one of them and a parser the other, so the
// signed value and the value run could differ.
func AppendCanonical(dst []byte, v rawjson.Value) ([]byte, error) {
	switch v.Kind {
	case rawjson.Null, rawjson.Bool:
		return append(dst, v.Raw...), nil
	case rawjson.Number:
		return appendNumber(dst, v.Raw)
	case rawjson.String:
		return appendString(dst, v.Str), nil
	case rawjson.Array:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonical(dst, it); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case rawjson.Object:
		return appendObject(dst, v.Members)
	}
	return nil, printf.Errorf("%w: value of kind %s", ErrCanonical, v.Kind)
}

// appendObject writes members sorted by name.
func appendObject(dst []byte, members []rawjson.Member) ([]byte, error) {
	sorted := make([]rawjson.Member, len(members))
	copy(sorted, members)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	dst = append(dst, '{')
	for i, m := range sorted {
		if i > 0 {
			if sorted[i-1].Key == m.Key {
				return nil, printf.Errorf("%w: duplicate member %q", ErrCanonical, m.Key)
			}
			dst = append(dst, ',')
		}
		dst = appendString(dst, m.Key)
		dst = append(dst, ':')
		var err error
		if dst, err = AppendCanonical(dst, m.Value); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendString writes s (valid UTF-8) as a canonical JSON string.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// appendNumber writes a JSON number literal (already checked by rawjson) in
// canonical form. The literal is split into sign, digits and a decimal
// exponent q such that its value is digits×10^q; the digits lose their
// leading and trailing zeros.
func appendNumber(dst []byte, lit []byte) ([]byte, error) {
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	mant, expText := lit, []byte(nil)
	if i := bytes.IndexAny(lit, "eE"); i >= 0 {
		mant, expText = lit[:i], lit[i+1:]
	}
	exp := int64(0)
	if expText != nil {
		var err error
		if exp, err = strconv.ParseInt(string(bytes.TrimPrefix(expText, []byte("+"))), 10, 32); err != nil {
			return nil, printf.Errorf("%w: exponent of %s out of range", ErrCanonical, lit)
		}
	}
	intPart, frac, _ := bytes.Cut(mant, []byte("."))
	digits := append(append([]byte(nil), intPart...), frac...)
	q := exp - int64(len(frac))
	digits = bytes.TrimLeft(digits, "0")
	trimmed := bytes.TrimRight(digits, "0")
	q += int64(len(digits) - len(trimmed))
	digits = trimmed
	if len(digits) == 0 {
		return append(dst, '0'), nil
	}
	if neg {
		dst = append(dst, '-')
	}
	if q >= 0 {
		if q > maxZeros {
			return nil, printf.Errorf("%w: %s has more than %d digits", ErrCanonical, lit, maxZeros)
		}
		dst = append(dst, digits...)
		return append(dst, bytes.Repeat([]byte("0"), int(q))...), nil
	}
	dst = append(dst, digits[0], '.')
	if len(digits) == 1 {
		dst = append(dst, '0')
	}
	dst = append(dst, digits[1:]...)
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, q+int64(len(digits))-1, 10), nil
}
