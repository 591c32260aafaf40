package pvs

import "strings"

// Match reports whether key matches a pvs include/exclude pattern as
// upstream's _filter_json does: fnmatch(3) with FNM_PATHNAME ('*', '?' and
// brackets never match '/'); a pattern "dir/**" is "dir" with
// FNM_LEADING_DIR (it matches "dir" and every key under it), and "**" alone
// matches every key. A backslash quotes the next character. A bracket
// expression ([a-z], [!x], [^x]) must close within its path segment, else
// its '[' is literal; POSIX classes ([:alpha:]) are not supported and are
// read as plain characters.
func Match(pattern, key string) bool {
	if pattern == "**" {
		return true
	}
	leadingDir := false
	if p, ok := strings.CutSuffix(pattern, "/**"); ok {
		pattern, leadingDir = p, true
	}
	pat := strings.Split(pattern, "/")
	name := strings.Split(key, "/")
	if len(name) < len(pat) || (!leadingDir && len(name) != len(pat)) {
		return false
	}
	for i, p := range pat {
		if !matchSegment(p, name[i]) {
			return false
		}
	}
	return true
}

// matchSegment matches one path segment (no '/' in either) with the usual
// single backtrack point: a later '*' supersedes an earlier one.
func matchSegment(p, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				pi, si = pi+1, si+1
				continue
			case '[':
				if ok, n, valid := matchBracket(p[pi:], s[si]); valid {
					if ok {
						pi, si = pi+n, si+1
						continue
					}
					break
				}
				if s[si] == '[' {
					pi, si = pi+1, si+1
					continue
				}
			default:
				lit, n := c, 1
				if c == '\\' {
					if pi+1 == len(p) {
						return false // a trailing backslash matches nothing, as glibc
					}
					lit, n = p[pi+1], 2
				}
				if s[si] == lit {
					pi, si = pi+n, si+1
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchBracket matches c against the bracket expression at the start of p.
// It returns whether c matched, the length of the expression, and whether
// the expression is well formed (has its closing ']').
func matchBracket(p string, c byte) (matched bool, n int, valid bool) {
	i := 1
	negate := i < len(p) && (p[i] == '!' || p[i] == '^')
	if negate {
		i++
	}
	first := true
	for i < len(p) && (first || p[i] != ']') {
		first = false
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		i++
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			hi = p[i+1]
			if hi == '\\' && i+2 < len(p) {
				hi = p[i+2]
				i++
			}
			i += 2
		}
		if lo <= c && c <= hi {
			matched = true
		}
	}
	if i >= len(p) {
		return false, 0, false
	}
	return matched != negate, i + 1, true
}
