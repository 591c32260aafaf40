package kmod

import (
	"bufio"
	"io"
	"path"
	"strings"

	"pantavisor/lib/printf"
)

// Alias is one modules.alias line: modules whose alias matches Pattern
// (shell glob, as modprobe's fnmatch) provide Module.
type Alias struct {
	Pattern, Module string
}

// ParseAlias reads depmod's modules.alias ("alias PATTERN MODULE" lines;
// blank lines and # comments ignored).
func ParseAlias(r io.Reader) ([]Alias, error) {
	var out []Alias
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0][0] == '#' {
			continue
		}
		if len(f) != 3 || f[0] != "alias" {
			return nil, printf.Errorf("modules.alias line %d: want \"alias PATTERN MODULE\", got %q", n, sc.Text())
		}
		out = append(out, Alias{Pattern: f[1], Module: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, printf.Errorf("reading modules.alias: %w", err)
	}
	return out, nil
}

// Resolve returns the modules that provide name, in modules.alias order
// and each once: the kernel asks for aliases such as "rtnl-link-bridge"
// or "nft-chain-2-nat" when it needs a module (request_module). A
// pattern that is not a valid glob is compared as written.
func Resolve(aliases []Alias, name string) []string {
	var out []string
	for _, a := range aliases {
		ok, err := path.Match(a.Pattern, name)
		if err != nil {
			ok = a.Pattern == name
		}
		if ok && !contains(out, a.Module) {
			out = append(out, a.Module)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
