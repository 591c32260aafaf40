package logs

import "strings"

// checkPlatform accepts a platform usable as one directory name.
func checkPlatform(p string) error {
	if p == "" || p == "." || p == ".." || len(p) > 255 || strings.ContainsAny(p, "/\x00") {
		return badf(ErrBadName, "platform %q", p)
	}
	return nil
}

// cleanSource makes a source a relative path below its platform's
// directory: a leading '/' (pvlogger names sources after the file it
// tails, e.g. /var/log/messages) and empty or "." components are dropped;
// ".." components, NUL bytes, over-long components and an empty result are
// refused with ErrBadName.
func cleanSource(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 || len(s) > 1024 {
		return "", badf(ErrBadName, "source %q", s)
	}
	if isClean(s) {
		return checkComponents(s, s)
	}
	var b strings.Builder
	for _, c := range strings.Split(s, "/") {
		if c == "" || c == "." {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(c)
	}
	return checkComponents(b.String(), s)
}

// checkComponents refuses an empty path, ".." and components over 255 bytes.
func checkComponents(clean, orig string) (string, error) {
	if clean == "" {
		return "", badf(ErrBadName, "source %q", orig)
	}
	for c := range strings.SplitSeq(clean, "/") {
		if c == ".." || len(c) > 255 {
			return "", badf(ErrBadName, "source %q", orig)
		}
	}
	return clean, nil
}

// isClean reports whether s has no leading, trailing or doubled '/' and no
// "." component, so that splitting and joining it would not change it.
func isClean(s string) bool {
	return s != "" && s != "." && s[0] != '/' && s[len(s)-1] != '/' && !strings.Contains(s, "//") &&
		!strings.HasPrefix(s, "./") && !strings.Contains(s, "/./") && !strings.HasSuffix(s, "/.")
}
