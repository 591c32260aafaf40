package printf

import (
	"encoding/json"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verb is one conversion of a format: its letter, and whether it and its
// flags are within the package's contract.
type verb struct {
	letter byte
	ok     bool
}

// verbs lists the conversions of format that take an operand.
func verbs(format string) []verb {
	var out []verb
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		ok := true
		for i < len(format) && strings.IndexByte("-+#0", format[i]) >= 0 {
			i++
		}
		for i < len(format) && ('0' <= format[i] && format[i] <= '9' || format[i] == '.') {
			i++
		}
		if i == len(format) {
			return append(out, verb{0, false})
		}
		c := format[i]
		if c == '%' {
			continue
		}
		if strings.IndexByte("vsqdxXoctfFw", c) < 0 {
			ok = false // ' ', '*', '[n]', %T, %p, %e, %g, %U, %b ...
		}
		out = append(out, verb{c, ok})
	}
	return out
}

// formatArg is where the format is among the parameters of the package's
// functions; Fprint, Fprintln and Sprint have none, and their operands
// start at operandsArg.
var (
	formatArg   = map[string]int{"Sprintf": 0, "Errorf": 0, "Fprintf": 1, "Appendf": 1, "Fprint": -1, "Fprintln": -1, "Sprint": -1}
	operandsArg = map[string]int{"Fprint": 1, "Fprintln": 1, "Sprint": 0}
)

// listed is a package as `go list -json` describes it.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Standard   bool
}

// TestCallSites type-checks every package of ours in the device binary
// (both build variants) and refuses a formatting call whose format is not
// a constant, uses a verb or flag outside the contract, does not match its
// count of operands, or gives a verb an operand the printer can only print
// through reflection (a named integer for %d, a struct for %v). A
// formatting call is one of this package's functions, or of any function
// whose last parameters are (format string, args ...any), as go vet's
// printf check assumes; such a function may hand its format and operands
// on, with a constant prefix whose verbs it fills itself.
func TestCallSites(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the device's packages (-short)")
	}
	checked := 0
	for _, tags := range []string{"nohub", ""} {
		pkgs := goList(t, tags)
		exports := map[string]string{}
		for _, p := range pkgs {
			exports[p.ImportPath] = p.Export
		}
		fset := token.NewFileSet()
		imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
			return os.Open(exports[path])
		})
		c := &checker{t: t, fset: fset}
		for _, p := range pkgs {
			if p.Standard || !strings.HasPrefix(p.ImportPath, "pantavisor/") {
				continue
			}
			checked += c.check(typeCheck(t, fset, imp, p))
		}
	}
	require.Greater(t, checked, 1000, "formatting calls checked in the two variants")
}

func goList(t *testing.T, tags string) []listed {
	cmd := exec.Command("go", "list", "-e", "-export", "-deps", "-tags="+tags,
		"-json=ImportPath,Dir,GoFiles,Export,Standard", "pantavisor/dispatch")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list")
	var pkgs []listed
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	return pkgs
}

type typedPackage struct {
	files []*ast.File
	info  *types.Info
}

func typeCheck(t *testing.T, fset *token.FileSet, imp types.Importer, p listed) *typedPackage {
	tp := &typedPackage{info: &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Uses:  map[*ast.Ident]types.Object{},
		Defs:  map[*ast.Ident]types.Object{},
	}}
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
		require.NoError(t, err)
		tp.files = append(tp.files, f)
	}
	conf := types.Config{Importer: imp}
	_, err := conf.Check(p.ImportPath, fset, tp.files, tp.info)
	require.NoError(t, err, p.ImportPath)
	return tp
}

type checker struct {
	t    *testing.T
	fset *token.FileSet
}

// formatIndex returns where the format is among the parameters of a
// function of signature sig named name (-1: none), where its operands
// start, and whether the function formats.
func formatIndex(pkg, name string, sig *types.Signature) (at, from int, ok bool) {
	if pkg == "pantavisor/lib/printf" {
		at, ok := formatArg[name]
		if at < 0 {
			return at, operandsArg[name], ok
		}
		return at, at + 1, ok
	}
	params := sig.Params()
	n := params.Len()
	if !sig.Variadic() || n < 2 {
		return 0, 0, false
	}
	last, ok := params.At(n - 1).Type().(*types.Slice)
	if !ok || !isEmptyInterface(last.Elem()) || !types.Identical(params.At(n-2).Type(), types.Typ[types.String]) {
		return 0, 0, false
	}
	return n - 2, n - 1, true
}

func isEmptyInterface(t types.Type) bool {
	i, ok := t.Underlying().(*types.Interface)
	return ok && i.Empty()
}

// formatting returns where the format is among call's arguments (-1:
// none), where its operands start, and whether call formats.
func (c *checker) formatting(tp *typedPackage, call *ast.CallExpr) (at, from int, ok bool) {
	sig, ok := tp.info.Types[call.Fun].Type.(*types.Signature)
	if !ok {
		return 0, 0, false // a conversion
	}
	pkg, name := "", ""
	var id *ast.Ident
	switch fn := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fn
	case *ast.SelectorExpr:
		id = fn.Sel
	}
	if f, ok := tp.info.Uses[id].(*types.Func); ok && f.Pkg() != nil {
		pkg, name = f.Pkg().Path(), f.Name()
	}
	return formatIndex(pkg, name, sig)
}

// check checks tp's formatting calls and returns how many it checked.
func (c *checker) check(tp *typedPackage) int {
	n := 0
	var funcs []*types.Signature // the enclosing functions, innermost last
	var visit func(node ast.Node) bool
	visit = func(node ast.Node) bool {
		switch node := node.(type) {
		case *ast.FuncDecl:
			if node.Body != nil {
				funcs = append(funcs, tp.info.Defs[node.Name].Type().(*types.Signature))
				ast.Inspect(node.Body, visit)
				funcs = funcs[:len(funcs)-1]
			}
			return false
		case *ast.FuncLit:
			funcs = append(funcs, tp.info.Types[node].Type.(*types.Signature))
			ast.Inspect(node.Body, visit)
			funcs = funcs[:len(funcs)-1]
			return false
		case *ast.CallExpr:
			at, from, ok := c.formatting(tp, node)
			if !ok {
				return true
			}
			n++
			var inside *types.Signature
			if len(funcs) > 0 {
				inside = funcs[len(funcs)-1]
			}
			c.call(tp, node, at, from, inside)
		}
		return true
	}
	for _, file := range tp.files {
		ast.Inspect(file, visit)
	}
	return n
}

// call checks one formatting call with its format at argument at and its
// operands from argument from, made inside a function of signature inside
// (nil at package level).
func (c *checker) call(tp *typedPackage, call *ast.CallExpr, at, from int, inside *types.Signature) {
	pos := c.fset.Position(call.Pos())
	if call.Ellipsis.IsValid() {
		c.forward(tp, pos, call, at, inside)
		return
	}
	operands := call.Args[from:]
	if at < 0 {
		for _, arg := range operands {
			c.operand(pos, 'v', tp.info.Types[arg].Type)
		}
		return
	}
	tv := tp.info.Types[call.Args[at]]
	if tv.Value == nil || tv.Value.Kind() != constant.String {
		c.t.Errorf("%s: the format is not a constant string", pos)
		return
	}
	c.verbs(tp, pos, constant.StringVal(tv.Value), operands)
}

// verbs checks the operands of format.
func (c *checker) verbs(tp *typedPackage, pos token.Position, format string, operands []ast.Expr) {
	vs := verbs(format)
	if len(vs) != len(operands) {
		c.t.Errorf("%s: %d verbs for %d operands", pos, len(vs), len(operands))
		return
	}
	for i, v := range vs {
		if !v.ok {
			c.t.Errorf("%s: verb %d (%%%c) or its flags are outside the package's contract", pos, i+1, v.letter)
			continue
		}
		c.operand(pos, v.letter, tp.info.Types[operands[i]].Type)
	}
}

// forward checks a call that hands on the format and operands of the
// formatting function it is in: its format is that function's format
// after a constant prefix and before a constant suffix without verbs, and
// its operands are that function's, after the prefix's own (append([]any{
// prefix operands...}, args...)...).
func (c *checker) forward(tp *typedPackage, pos token.Position, call *ast.CallExpr, at int, inside *types.Signature) {
	inAt, ok := -1, inside != nil
	if ok {
		inAt, _, ok = formatIndex("", "", inside)
	}
	if !ok || at < 0 {
		c.t.Errorf("%s: operands handed on with ... outside a formatting function", pos)
		return
	}
	format, args := inside.Params().At(inAt), inside.Params().At(inAt+1)
	var prefix, suffix string
	seen := false
	for _, part := range concatenation(call.Args[at]) {
		if id, ok := part.(*ast.Ident); ok && tp.info.Uses[id] == format {
			if seen {
				c.t.Errorf("%s: the format is used twice", pos)
			}
			seen = true
			continue
		}
		tv := tp.info.Types[part]
		if tv.Value == nil || tv.Value.Kind() != constant.String {
			c.t.Errorf("%s: the format is not the function's format between constants", pos)
			return
		}
		if seen {
			suffix += constant.StringVal(tv.Value)
		} else {
			prefix += constant.StringVal(tv.Value)
		}
	}
	if !seen {
		c.t.Errorf("%s: the format handed on is not the function's", pos)
		return
	}
	if len(verbs(suffix)) > 0 {
		c.t.Errorf("%s: verbs after the handed-on format", pos)
	}
	last := ast.Unparen(call.Args[len(call.Args)-1])
	var own []ast.Expr
	if app, ok := last.(*ast.CallExpr); ok && len(app.Args) == 2 && app.Ellipsis.IsValid() {
		if lit, ok := app.Args[0].(*ast.CompositeLit); ok {
			own, last = lit.Elts, app.Args[1]
		}
	}
	if id, ok := last.(*ast.Ident); !ok || tp.info.Uses[id] != args {
		c.t.Errorf("%s: the operands handed on are not the function's", pos)
		return
	}
	c.verbs(tp, pos, prefix, own)
}

// concatenation lists the operands of a chain of string + operations.
func concatenation(e ast.Expr) []ast.Expr {
	if b, ok := ast.Unparen(e).(*ast.BinaryExpr); ok && b.Op == token.ADD {
		return append(concatenation(b.X), concatenation(b.Y)...)
	}
	return []ast.Expr{e}
}

var (
	errorType    = types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	stringerType = types.NewInterfaceType([]*types.Func{types.NewFunc(token.NoPos, nil, "String",
		types.NewSignatureType(nil, nil, nil, nil,
			types.NewTuple(types.NewVar(token.NoPos, nil, "", types.Typ[types.String])), false))}, nil).Complete()
)

// operand checks that the printer prints an operand of type typ for verb
// as fmt does.
func (c *checker) operand(pos token.Position, v byte, typ types.Type) {
	if ok := printable(v, typ); !ok {
		c.t.Errorf("%s: %%%c of a %s: the printer cannot print it without reflection (convert it, or give it a String method)", pos, v, typ)
	}
}

func printable(v byte, typ types.Type) bool {
	if b, ok := typ.(*types.Basic); ok && b.Kind() == types.UntypedNil {
		return v == 'v'
	}
	if types.Implements(typ, errorType) || types.Implements(typ, stringerType) {
		return strings.IndexByte("vsqxXw", v) >= 0 && (v != 'w' || types.Implements(typ, errorType))
	}
	switch typ := typ.(type) {
	case *types.Basic:
		info := typ.Info()
		switch {
		case info&types.IsString != 0:
			return strings.IndexByte("vsqxX", v) >= 0
		case info&types.IsBoolean != 0:
			return v == 'v' || v == 't'
		case info&types.IsInteger != 0:
			return strings.IndexByte("vdxXocq", v) >= 0
		case info&types.IsFloat != 0:
			return strings.IndexByte("vfF", v) >= 0
		}
	case *types.Slice:
		elem, ok := typ.Elem().(*types.Basic)
		switch {
		case ok && elem.Kind() == types.Byte:
			return strings.IndexByte("sqxX", v) >= 0
		case ok && elem.Kind() == types.String:
			return strings.IndexByte("vsq", v) >= 0
		case ok && elem.Kind() == types.Int:
			return v == 'v' || v == 'd'
		}
	}
	return false
}

func TestPrintable(t *testing.T) {
	named := types.NewNamed(types.NewTypeName(token.NoPos, nil, "Rev", nil), types.Typ[types.Int], nil)
	for _, tc := range []struct {
		verb byte
		typ  types.Type
		ok   bool
	}{
		{'d', types.Typ[types.Int], true},
		{'d', named, false}, // fmt would reach its int through reflection
		{'v', named, false},
		{'s', types.Typ[types.String], true},
		{'d', types.Typ[types.String], false},
		{'x', types.NewSlice(types.Typ[types.Byte]), true},
		{'v', types.NewSlice(types.Typ[types.Byte]), false}, // fmt: [1 2 3]
		{'v', types.NewSlice(types.Typ[types.String]), true},
		{'v', types.NewSlice(types.Typ[types.Int]), true},
		{'v', types.NewSlice(types.Typ[types.Int64]), false},
		{'w', errorType, true},
		{'w', types.Typ[types.String], false},
		{'q', stringerType, true},
		{'d', stringerType, false},
		{'v', types.NewInterfaceType(nil, nil), false}, // any
		{'v', types.Typ[types.UntypedNil], true},
		{'s', types.Typ[types.UntypedNil], false},
		{'f', types.Typ[types.Float64], true},
		{'t', types.Typ[types.Bool], true},
		{'v', types.NewPointer(types.Typ[types.Int]), false},
	} {
		assert.Equal(t, tc.ok, printable(tc.verb, tc.typ), "%%%c of %s", tc.verb, tc.typ)
	}
}

func TestVerbs(t *testing.T) {
	assert.Equal(t, []verb{{'s', true}, {'d', true}, {'x', true}}, verbs("a %s 100%% %-08.3d %#x"))
	assert.Equal(t, []verb{{'T', false}, {'*', false}, {'[', false}, {' ', false}}, verbs("%T %*d %[1]d % d"))
	assert.Equal(t, []verb{{0, false}}, verbs("tail %"))
}
