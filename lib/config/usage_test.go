package config

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the module root, seen from this package's directory.
const repoRoot = "../.."

// keyUse is one mention of a key outside lib/config.
type keyUse struct {
	pos  string // file:line
	name string // the key's text: a literal, or the name behind a constant
	read bool   // in non-test code, by constant, by a getter, or through Paths
}

// readers are the method names that read a key given as a string literal
// (Config's deprecated getters, until every caller uses Get).
var readers = map[string]bool{"String": true, "Bool": true, "Int": true, "Duration": true, "Size": true, "Level": true}

// writers take a key name as text (Config.Set/Unset, the metadata store).
var writers = map[string]bool{"Set": true, "Unset": true, "Get": true, "Delete": true}

// isKeyText reports whether s looks like a key name: PV_ or PH_, then upper
// case letters, digits and '_'.
func isKeyText(s string) bool {
	if len(s) <= 3 || s[:3] != "PV_" && s[:3] != "PH_" {
		return false
	}
	return strings.Trim(s[3:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == ""
}

// scanUses parses every .go file of the module outside lib/config and
// returns its mentions of keys: config.<Constant> selectors, "PV_…"/"PH_…"
// literals passed to a method of readers or writers, and for a call of
// .Paths() in a file importing lib/config, every key Paths reads.
func scanUses(t *testing.T) []keyUse {
	t.Helper()
	consts := map[string]string{}
	for _, k := range keys {
		consts[constName(k.Name)] = k.Name
	}
	self, err := filepath.Abs(".")
	require.NoError(t, err)
	var uses []keyUse
	fset := token.NewFileSet()
	err = filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			abs, _ := filepath.Abs(p)
			if abs == self || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && p != repoRoot {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		uses = append(uses, fileUses(fset, f, consts, !strings.HasSuffix(p, "_test.go"))...)
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, uses, "the walk found the tree")
	return uses
}

// fileUses returns the key mentions of one parsed file; prod is false for
// a _test.go file, whose mentions are checked but are no reads.
func fileUses(fset *token.FileSet, f *ast.File, consts map[string]string, prod bool) []keyUse {
	pkg := ""
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == "pantavisor/lib/config" {
			pkg = "config"
			if im.Name != nil {
				pkg = im.Name.Name
			}
		}
	}
	var uses []keyUse
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && pkg != "" && id.Name == pkg && consts[n.Sel.Name] != "" {
				uses = append(uses, keyUse{fset.Position(n.Pos()).String(), consts[n.Sel.Name], prod})
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if sel.Sel.Name == "Paths" && len(n.Args) == 0 && pkg != "" && prod {
				for _, k := range pathKeys {
					uses = append(uses, keyUse{fset.Position(n.Pos()).String(), k.Name(), true})
				}
			}
			if !readers[sel.Sel.Name] && !writers[sel.Sel.Name] {
				return true
			}
			for _, a := range n.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				if isKeyText(s) {
					uses = append(uses, keyUse{fset.Position(lit.Pos()).String(), s, prod && readers[sel.Sel.Name]})
				}
			}
		}
		return true
	})
	return uses
}

// TestKeysInCodeExist: every key the code outside lib/config names as text
// is a key of the table (or a sysctl), so a misspelt "PV_…" that a
// deprecated getter would read as "" fails here.
func TestKeysInCodeExist(t *testing.T) {
	for _, u := range scanUses(t) {
		if strings.HasPrefix(u.name, "PV_SYSCTL_") {
			continue
		}
		_, ok := ParseKey(u.name)
		assert.True(t, ok, "%s: %s is not a configuration key", u.pos, u.name)
	}
}

// readmeUnsupported reads the rows of README.md's section "Configuration
// keys not acted on": | `KEY` | reason |.
func readmeUnsupported(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	defer f.Close()
	rows := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.TrimSpace(strings.TrimLeft(line, "#")) == "Configuration keys not acted on"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		key := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if !isKeyText(key) {
			continue // the header and its rule
		}
		require.Len(t, cells, 2, "README row %q: | key | reason |", line)
		require.NotContains(t, rows, key, "README lists %s twice", key)
		rows[key] = strings.TrimSpace(cells[1])
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows, "README.md has the section \"Configuration keys not acted on\"")
	return rows
}

// TestKeysUsedOrListed: every key of the table is read by code outside
// lib/config, or listed in README.md's "Configuration keys not acted on"
// with a reason, never both; every listed key is a key.
func TestKeysUsedOrListed(t *testing.T) {
	read := map[string]string{}
	for _, u := range scanUses(t) {
		if u.read {
			read[u.name] = u.pos
		}
	}
	listed := readmeUnsupported(t)
	for name, reason := range listed {
		_, ok := ParseKey(name)
		assert.True(t, ok, "README lists %s, which is no key", name)
		assert.NotEmpty(t, reason, "README gives no reason for %s", name)
	}
	var unlisted []string
	for _, k := range keys {
		_, isListed := listed[k.Name]
		pos, isRead := read[k.Name]
		switch {
		case isRead && isListed:
			t.Errorf("%s is read at %s: remove its row from README's \"Configuration keys not acted on\"", k.Name, pos)
		case !isRead && !isListed:
			unlisted = append(unlisted, k.Name)
		}
	}
	slices.Sort(unlisted)
	assert.Empty(t, unlisted, "keys neither read outside lib/config nor listed in README's \"Configuration keys not acted on\"")
}
