// Package printf formats text as package fmt does, for the verbs and
// operands the device binary uses, without reflection: fmt's printer
// reaches every value through package reflect, which the device binary
// would otherwise link only for that (README "Size budget").
//
// Operands are strings, byte slices, string and int slices, booleans, the
// predeclared integer and float types, errors and fmt.Stringers, and nil.
// A named type reaches the printer only through its Error or String
// method: %d of a named integer type without a String method would need
// reflection, so TestCallSites refuses such a call at build time, along
// with a format that is not a constant and a count of operands that does
// not match the verbs. The verbs are %v %s %q %d %x %X %o %c %t %f %F %w
// and %%, with the flags - + # 0, a width and a precision. An operand a
// verb cannot print comes out as fmt would print it for a type it knows
// nothing of: %!verb(?).
package printf

import (
	"io"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Stringer is fmt.Stringer.
type Stringer interface{ String() string }

// Sprintf is fmt.Sprintf.
func Sprintf(format string, a ...any) string {
	p := newPrinter(format, a)
	p.format(format, a)
	return p.string()
}

// Fprintf is fmt.Fprintf: one Write of the formatted text.
func Fprintf(w io.Writer, format string, a ...any) (int, error) {
	return w.Write(Appendf(nil, format, a...))
}

// Fprint is fmt.Fprint: operands in their %v form, with a space between
// two that are neither of them a string.
func Fprint(w io.Writer, a ...any) (int, error) { return w.Write(appendOperands(nil, a, false)) }

// Fprintln is fmt.Fprintln: operands in their %v form separated by
// spaces, and a newline.
func Fprintln(w io.Writer, a ...any) (int, error) { return w.Write(appendOperands(nil, a, true)) }

// Sprint is fmt.Sprint.
func Sprint(a ...any) string { return string(appendOperands(nil, a, false)) }

func appendOperands(b []byte, a []any, ln bool) []byte {
	p := printer{buf: b, width: -1, prec: -1}
	for i, x := range a {
		if i > 0 {
			_, prevString := a[i-1].(string)
			_, isString := x.(string)
			if ln || !prevString && !isString {
				p.buf = append(p.buf, ' ')
			}
		}
		p.verb = 'v'
		p.operand(x)
	}
	if ln {
		p.buf = append(p.buf, '\n')
	}
	return p.buf
}

// Errorf is fmt.Errorf: the error's text is the formatted text, and it
// wraps the operands of %w (Unwrap returns the one, or all of them).
func Errorf(format string, a ...any) error {
	p := newPrinter(format, a)
	p.format(format, a)
	switch len(p.wrapped) {
	case 0:
		return &plainError{p.string()}
	case 1:
		return &wrapError{p.string(), p.wrapped[0]}
	}
	return &wrapErrors{p.string(), p.wrapped}
}

// newPrinter returns a printer whose buffer is likely to hold the text.
func newPrinter(format string, a []any) printer {
	return printer{buf: make([]byte, 0, len(format)+16*len(a))}
}

// string returns the text without a copy, as strings.Builder does: the
// buffer is not written again.
func (p *printer) string() string { return unsafe.String(unsafe.SliceData(p.buf), len(p.buf)) }

type plainError struct{ msg string }

func (e *plainError) Error() string { return e.msg }

type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

type wrapErrors struct {
	msg  string
	errs []error
}

func (e *wrapErrors) Error() string   { return e.msg }
func (e *wrapErrors) Unwrap() []error { return e.errs }

// Appendf is fmt.Appendf.
func Appendf(b []byte, format string, a ...any) []byte {
	p := printer{buf: b}
	p.format(format, a)
	return p.buf
}

// printer formats into buf; verb, flags, width and precision are the
// current verb's; wrapped collects Errorf's %w operands.
type printer struct {
	buf         []byte
	verb        byte
	minus, plus bool
	sharp, zero bool
	width, prec int // -1: none
	wrapped     []error
}

func (p *printer) format(format string, a []any) {
	n := 0
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			j := i + 1
			for j < len(format) && format[j] != '%' {
				j++
			}
			p.buf = append(p.buf, format[i:j]...)
			i = j
			continue
		}
		i++
		p.minus, p.plus, p.sharp, p.zero = false, false, false, false
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				p.minus = true
			case '+':
				p.plus = true
			case '#':
				p.sharp = true
			case '0':
				p.zero = true
			default:
				break flags
			}
		}
		p.width, i = number(format, i)
		p.prec = -1
		if i < len(format) && format[i] == '.' {
			p.prec, i = number(format, i+1)
			p.prec = max(p.prec, 0)
		}
		if i == len(format) {
			p.buf = append(p.buf, "%!(NOVERB)"...)
			break
		}
		p.verb = format[i]
		i++
		switch {
		case p.verb == '%':
			p.buf = append(p.buf, '%')
		case n == len(a):
			p.buf = append(p.buf, '%', '!', p.verb)
			p.buf = append(p.buf, "(MISSING)"...)
		default:
			x := a[n]
			n++
			if p.verb == 'w' {
				if err, ok := x.(error); ok && err != nil {
					p.wrapped = append(p.wrapped, err)
					p.verb = 'v'
				}
			}
			p.operand(x)
		}
	}
	if n < len(a) {
		p.buf = append(p.buf, "%!(EXTRA)"...)
	}
}

// number reads a decimal number at s[i:]: -1 when there is none.
func number(s string, i int) (int, int) {
	n := -1
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n < 0 {
			n = 0
		}
		if n < 1e6 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n, i
}

func (p *printer) operand(x any) {
	v := p.verb
	switch x := x.(type) {
	case nil:
		if v == 'v' {
			start := len(p.buf)
			p.buf = append(p.buf, "<nil>"...)
			p.fill(start, start, ' ')
			return
		}
	case error:
		if v == 'v' || v == 's' || v == 'q' || v == 'x' || v == 'X' {
			p.text(x.Error())
			return
		}
	case Stringer:
		if v == 'v' || v == 's' || v == 'q' || v == 'x' || v == 'X' {
			p.text(x.String())
			return
		}
	case string:
		if v == 'v' || v == 's' || v == 'q' || v == 'x' || v == 'X' {
			p.text(x)
			return
		}
	case []byte:
		if v == 's' || v == 'q' || v == 'x' || v == 'X' {
			p.text(string(x))
			return
		}
	case []string:
		if v == 'v' || v == 's' || v == 'q' {
			p.buf = append(p.buf, '[')
			for i, s := range x {
				if i > 0 {
					p.buf = append(p.buf, ' ')
				}
				p.text(s)
			}
			p.buf = append(p.buf, ']')
			return
		}
	case []int:
		if v == 'v' || v == 'd' {
			p.buf = append(p.buf, '[')
			for i, n := range x {
				if i > 0 {
					p.buf = append(p.buf, ' ')
				}
				p.integer(uint64(n), n < 0)
			}
			p.buf = append(p.buf, ']')
			return
		}
	case bool:
		if v == 'v' || v == 't' {
			start := len(p.buf)
			p.buf = strconv.AppendBool(p.buf, x)
			p.fill(start, start, ' ')
			return
		}
	case float64:
		p.float(x, 64)
		return
	case float32:
		p.float(float64(x), 32)
		return
	case int:
		p.integer(uint64(x), x < 0)
		return
	case int8:
		p.integer(uint64(x), x < 0)
		return
	case int16:
		p.integer(uint64(x), x < 0)
		return
	case int32:
		p.integer(uint64(x), x < 0)
		return
	case int64:
		p.integer(uint64(x), x < 0)
		return
	case uint:
		p.integer(uint64(x), false)
		return
	case uint8:
		p.integer(uint64(x), false)
		return
	case uint16:
		p.integer(uint64(x), false)
		return
	case uint32:
		p.integer(uint64(x), false)
		return
	case uint64:
		p.integer(x, false)
		return
	case uintptr:
		p.integer(uint64(x), false)
		return
	}
	p.bad(x == nil)
}

// bad writes what fmt writes for an operand its verb does not take,
// without the type fmt names: %!verb(?), or %!verb(<nil>).
func (p *printer) bad(isNil bool) {
	p.buf = append(p.buf, '%', '!', p.verb, '(')
	if isNil {
		p.buf = append(p.buf, "<nil>"...)
	} else {
		p.buf = append(p.buf, '?')
	}
	p.buf = append(p.buf, ')')
}

// fill pads what was written from start to the width, in runes: after it
// with spaces for the - flag, else with c inserted at at (start, or after
// a sign for zeros).
func (p *printer) fill(start, at int, c byte) {
	n := p.width - utf8.RuneCount(p.buf[start:])
	if n <= 0 {
		return
	}
	if p.minus {
		for ; n > 0; n-- {
			p.buf = append(p.buf, ' ')
		}
		return
	}
	end := len(p.buf)
	for i := 0; i < n; i++ {
		p.buf = append(p.buf, c)
	}
	copy(p.buf[at+n:], p.buf[at:end])
	for i := at; i < at+n; i++ {
		p.buf[i] = c
	}
}

// text prints a string operand for %v %s %q %x %X; a precision cuts it to
// that many runes first.
func (p *printer) text(s string) {
	if p.prec >= 0 {
		n := 0
		for i := range s {
			if n == p.prec {
				s = s[:i]
				break
			}
			n++
		}
	}
	start := len(p.buf)
	pad := byte(' ')
	switch p.verb {
	case 'q':
		switch {
		case p.sharp && strconv.CanBackquote(s):
			p.buf = append(append(append(p.buf, '`'), s...), '`')
		case p.plus:
			p.buf = strconv.AppendQuoteToASCII(p.buf, s)
		default:
			p.buf = strconv.AppendQuote(p.buf, s)
		}
	case 'x', 'X':
		digits := lowerHex
		if p.verb == 'X' {
			digits = upperHex
		}
		for i := 0; i < len(s); i++ {
			p.buf = append(p.buf, digits[s[i]>>4], digits[s[i]&15])
		}
		if p.zero {
			pad = '0'
		}
	default:
		p.buf = append(p.buf, s...)
	}
	p.fill(start, start, pad)
}

const (
	lowerHex = "0123456789abcdef"
	upperHex = "0123456789ABCDEF"
)

// integer prints u (the two's complement bits of a negative value when
// neg) for %v %d %x %X %o %c %q.
func (p *printer) integer(u uint64, neg bool) {
	if neg {
		u = -u
	}
	var tmp [24]byte
	var digits []byte
	prefix := ""
	start := len(p.buf)
	switch p.verb {
	case 'v', 'd':
		digits = strconv.AppendUint(tmp[:0], u, 10)
	case 'x', 'X':
		digits = strconv.AppendUint(tmp[:0], u, 16)
		if p.verb == 'X' {
			for i, c := range digits {
				if 'a' <= c {
					digits[i] = c - 'a' + 'A'
				}
			}
		}
		if p.sharp {
			prefix = "0x"
			if p.verb == 'X' {
				prefix = "0X"
			}
		}
	case 'o':
		digits = strconv.AppendUint(tmp[:0], u, 8)
		if p.sharp {
			prefix = "0"
		}
	case 'c':
		p.buf = utf8.AppendRune(p.buf, rune(u))
		p.fill(start, start, ' ')
		return
	case 'q':
		p.buf = strconv.AppendQuoteRune(p.buf, rune(u))
		p.fill(start, start, ' ')
		return
	default:
		p.bad(false)
		return
	}
	if p.prec == 0 && u == 0 {
		digits = digits[:0]
	}
	zeros := max(p.prec-len(digits), 0) // a precision is a minimum of digits
	switch {
	case neg:
		p.buf = append(p.buf, '-')
	case p.plus:
		p.buf = append(p.buf, '+')
	}
	p.buf = append(p.buf, prefix...)
	if p.zero && !p.minus && p.prec < 0 {
		zeros = p.width - (len(p.buf) - start) - len(digits)
	}
	for ; zeros > 0; zeros-- {
		p.buf = append(p.buf, '0')
	}
	p.buf = append(p.buf, digits...)
	p.fill(start, start, ' ')
}

// float prints f for %v (shortest, as %g) and %f %F (precision 6 unless
// given).
func (p *printer) float(f float64, bits int) {
	start := len(p.buf)
	switch {
	case p.plus && f >= 0:
		p.buf = append(p.buf, '+')
	case p.verb != 'v' && p.verb != 'f' && p.verb != 'F':
		p.bad(false)
		return
	}
	if p.verb == 'v' {
		p.buf = strconv.AppendFloat(p.buf, f, 'g', p.prec, bits)
	} else {
		prec := p.prec
		if prec < 0 {
			prec = 6
		}
		p.buf = strconv.AppendFloat(p.buf, f, 'f', prec, bits)
	}
	if p.zero && !p.minus {
		at := start
		if p.buf[at] == '-' || p.buf[at] == '+' {
			at++
		}
		p.fill(start, at, '0')
		return
	}
	p.fill(start, start, ' ')
}
