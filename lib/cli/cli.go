// Package cli holds the flag conventions every applet shares: errors on
// stderr, usage on stdout for -h/--help (exit 0), exit 2 on a usage error.
//
// Flags parses as the standard library's flag package does, with the same
// messages and the same option list, but without it: package flag pulls
// fmt and reflect into every applet of the device binary (README "Size
// budget"). It knows the three kinds of value the applets use: strings,
// booleans and durations.
package cli

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// Exit codes shared by the applets.
const (
	ExitOK    = 0
	ExitFail  = 1
	ExitUsage = 2
)

// Flags is an applet's flag set. Header is the help text printed before
// the options; its first line is the usage line.
type Flags struct {
	name   string
	header string
	stdout io.Writer
	stderr io.Writer
	defs   []*flagDef
	args   []string
}

// flagDef is one defined flag. Exactly one of str, boolean and duration is
// set: the variable the flag writes.
type flagDef struct {
	name     string
	usage    string
	def      string // the default, as the option list prints it
	str      *string
	boolean  *bool
	duration *time.Duration
	given    bool
}

// errHelp is what parse returns for -h or --help when no such flag is
// defined.
var errHelp error = &sentinel.Error{Text: "help requested"}

// NewFlags returns Flags named name whose errors go to stderr.
func NewFlags(name, header string, stdout, stderr io.Writer) *Flags {
	return &Flags{name: name, header: header, stdout: stdout, stderr: stderr}
}

// Name is the name the flags were made with, as usage errors print it.
func (f *Flags) Name() string { return f.name }

// StringVar defines a string flag that writes p.
func (f *Flags) StringVar(p *string, name, value, usage string) {
	*p = value
	f.defs = append(f.defs, &flagDef{name: name, usage: usage, def: value, str: p})
}

// String defines a string flag and returns its variable.
func (f *Flags) String(name, value, usage string) *string {
	p := new(string)
	f.StringVar(p, name, value, usage)
	return p
}

// BoolVar defines a boolean flag that writes p.
func (f *Flags) BoolVar(p *bool, name string, value bool, usage string) {
	*p = value
	f.defs = append(f.defs, &flagDef{name: name, usage: usage, def: strconv.FormatBool(value), boolean: p})
}

// Bool defines a boolean flag and returns its variable.
func (f *Flags) Bool(name string, value bool, usage string) *bool {
	p := new(bool)
	f.BoolVar(p, name, value, usage)
	return p
}

// DurationVar defines a duration flag (time.ParseDuration syntax) that
// writes p.
func (f *Flags) DurationVar(p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	f.defs = append(f.defs, &flagDef{name: name, usage: usage, def: value.String(), duration: p})
}

// Args are the arguments left after the flags.
func (f *Flags) Args() []string { return f.args }

// NArg is len(Args()).
func (f *Flags) NArg() int { return len(f.args) }

// Arg is Args()[i], or "" past the end.
func (f *Flags) Arg(i int) string {
	if i < 0 || i >= len(f.args) {
		return ""
	}
	return f.args[i]
}

// IsSet reports whether the flag name was given on the command line.
func (f *Flags) IsSet(name string) bool {
	d := f.lookup(name)
	return d != nil && d.given
}

func (f *Flags) lookup(name string) *flagDef {
	for _, d := range f.defs {
		if d.name == name {
			return d
		}
	}
	return nil
}

// Parse parses args (without the program name). When done is true the
// applet returns code: ExitOK after -h/--help (help printed on stdout),
// ExitUsage on a bad flag (error and usage line printed on stderr).
func (f *Flags) Parse(args []string) (code int, done bool) {
	err := f.parse(args)
	switch {
	case err == nil:
		return ExitOK, false
	case err == errHelp:
		f.PrintHelp()
		return ExitOK, true
	}
	printf.Fprintln(f.stderr, err)
	f.UsageError("")
	return ExitUsage, true
}

// parse follows package flag's rules: flags stop at the first argument
// that is not one, at "--" (dropped) or at "-"; -name and --name are the
// same; a value is -name=value or the next argument, and a boolean takes
// one only as -name=value.
func (f *Flags) parse(args []string) error {
	for len(args) > 0 {
		s := args[0]
		if len(s) < 2 || s[0] != '-' {
			break
		}
		name := s[1:]
		if name[0] == '-' {
			if len(name) == 1 { // "--"
				args = args[1:]
				break
			}
			name = name[1:]
		}
		if name == "" || name[0] == '-' || name[0] == '=' {
			return errors.New("bad flag syntax: " + s)
		}
		args = args[1:]
		name, value, hasValue := strings.Cut(name, "=")
		d := f.lookup(name)
		if d == nil {
			if name == "help" || name == "h" {
				return errHelp
			}
			return errors.New("flag provided but not defined: -" + name)
		}
		if d.boolean != nil {
			if !hasValue {
				value = "true"
			}
			v, err := strconv.ParseBool(value)
			*d.boolean = v // as package flag, even on an error
			if err != nil {
				return errors.New("invalid boolean value " + strconv.Quote(value) + " for -" + name + ": parse error")
			}
			d.given = true
			continue
		}
		if !hasValue && len(args) > 0 {
			value, hasValue, args = args[0], true, args[1:]
		}
		if !hasValue {
			return errors.New("flag needs an argument: -" + name)
		}
		if d.duration != nil {
			v, err := time.ParseDuration(value)
			*d.duration = v
			if err != nil {
				return errors.New("invalid value " + strconv.Quote(value) + " for flag -" + name + ": parse error")
			}
		} else {
			*d.str = value
		}
		d.given = true
	}
	f.args = args
	return nil
}

// PrintHelp writes the header and, when there are flags, the options.
func (f *Flags) PrintHelp() {
	printf.Fprint(f.stdout, f.header)
	if len(f.defs) > 0 {
		printf.Fprint(f.stdout, "\nOptions:\n")
		f.printOptions(f.stdout)
	}
}

// printOptions lists the flags sorted by name as package flag's
// PrintDefaults does: a `quoted` word of the usage names the value.
func (f *Flags) printOptions(w io.Writer) {
	defs := slices.Clone(f.defs)
	slices.SortFunc(defs, func(a, b *flagDef) int { return strings.Compare(a.name, b.name) })
	var b []byte
	for _, d := range defs {
		line := "  -" + d.name
		word, usage := d.valueWord()
		if word != "" {
			line += " " + word
		}
		if len(line) <= 4 { // a one-letter flag without a word
			line += "\t"
		} else {
			line += "\n    \t"
		}
		b = append(b, line...)
		b = append(b, strings.ReplaceAll(usage, "\n", "\n    \t")...)
		switch {
		case d.str != nil && d.def != "":
			b = append(b, " (default "...)
			b = strconv.AppendQuote(b, d.def)
			b = append(b, ')')
		case d.boolean != nil && d.def != "false", d.duration != nil && d.def != "0s":
			b = append(b, " (default "+d.def+")"...)
		}
		b = append(b, '\n')
	}
	printf.Fprint(w, string(b))
}

// valueWord is the word naming the flag's value and the usage without its
// back quotes.
func (d *flagDef) valueWord() (word, usage string) {
	usage = d.usage
	if before, rest, ok := strings.Cut(usage, "`"); ok {
		if w, after, ok := strings.Cut(rest, "`"); ok {
			return w, before + w + after
		}
	}
	switch {
	case d.boolean != nil:
		return "", usage
	case d.duration != nil:
		return "duration", usage
	}
	return "string", usage
}

// UsageError prints msg (if any) and the usage line on stderr and returns
// ExitUsage, for arguments the flags cannot check.
func (f *Flags) UsageError(msg string) int {
	var b strings.Builder
	if msg != "" {
		b.WriteString(f.name + ": " + msg + "\n")
	}
	line, _, _ := strings.Cut(f.header, "\n")
	b.WriteString(strings.Replace(line, "Usage:", "usage:", 1) + "\n")
	printf.Fprint(f.stderr, b.String())
	return ExitUsage
}
