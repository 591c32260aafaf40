package pvs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMatch's expectations were produced by glibc fnmatch(3) with
// FNM_PATHNAME (and FNM_LEADING_DIR for "dir/**", as upstream's
// _filter_json calls it).
func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"bsp/**", "bsp", true},
		{"bsp/**", "bsp/run.json", true},
		{"bsp/**", "bsp/a/b", true},
		{"bsp/**", "bspx/run.json", false},
		{"bsp/**", "bsp2", false},
		{"**", "anything/at/all", true},
		{"*", "a", true},
		{"*", "a/b", false},
		{"*.json", "device.json", true},
		{"*.json", "bsp/run.json", false},
		{"*/run.json", "app/run.json", true},
		{"*/run.json", "a/b/run.json", false},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
		{"a/**/c", "a/b/c", true},
		{"a/**/c", "a/b/x/c", false},
		{"a?c", "abc", true},
		{"a?c", "a/c", false},
		{"[ab]x", "bx", true},
		{"[ab]x", "cx", false},
		{"[!ab]x", "cx", true},
		{"[!ab]x", "ax", false},
		{"[^ab]x", "cx", true},
		{"[a-c]", "b", true},
		{"[a-c]", "d", false},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"a[/]b", "a/b", false},
		{"[", "[", true},
		{"a[b", "a[b", true},
		{"\\*", "*", true},
		{"\\*", "a", false},
		{"#spec", "#spec", true},
		{"device.json", "device.json", true},
		{"device.json", "devicexjson", false},
		{"_sigs/*", "_sigs/bsp.json", true},
		{"_config/app/**", "_config/app/etc/x", true},
		{"_config/app/**", "_config/apple", false},
		{"*a*b", "xaab", true},
		{"*a*b", "xaabc", false},
		{"", "", true},
		{"", "a", false},
		{"a*", "a", true},
		{"*/", "a/", true},
		{"a/", "a/", true},
		{"app/**", "app/", true},
		{"a\\", "a\\", false},
		{"[a-]", "-", true},
		{"[\\]]", "]", true},
		{".*", ".hidden", true},
		{"*", ".hidden", true},
	} {
		assert.Equal(t, tc.want, Match(tc.pattern, tc.key), "Match(%q, %q)", tc.pattern, tc.key)
	}
}
