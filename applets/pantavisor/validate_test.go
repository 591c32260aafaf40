package pantavisor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/pvrpkg"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	conformance = "../../testdata/conformance/"
	resources   = conformance + "pvtx/resources/"
	sha1        = "1111111111111111111111111111111111111111111111111111111111111111"
	wifiObject  = "d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c"
)

// validateRun runs "pantavisor validate args..." through Main.
func validateRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(append([]string{"pantavisor", "validate"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// golden compares got with testdata/validate/<name>.golden (or rewrites
// it under -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "validate", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}

func TestValidateConformanceStates(t *testing.T) {
	files, err := filepath.Glob(conformance + "pvtx/*/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range append(files, conformance+"state.rev0.json") {
		code, out, errs := validateRun(f)
		assert.Equal(t, 0, code, "%s: %s", f, errs)
		assert.Empty(t, errs, f)
		assert.True(t, strings.HasPrefix(out, "spec: pantavisor-service-system@1\nbsp: "), f)
		assert.NotContains(t, out, "missing objects:", "%s: a bare state carries no objects", f)
	}
}

func TestValidateGolden(t *testing.T) {
	tests := []struct{ golden, input string }{
		{"initial_state", resources + "initial_state.json"},
		{"pvwificonnect", resources + "pvwificonnect.tgz"},
		{"watchdog_pinger", resources + "watchdog_pinger.tar"},
		{"features", "testdata/validate/features.json"}, // fit, explicit groups, roles, quoting, warning
		{"network", "testdata/validate/network.json"},   // pools, container networks
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, errs := validateRun(tt.input)
			assert.Equal(t, 0, code, errs)
			assert.Empty(t, errs)
			golden(t, tt.golden, out)
		})
	}
}

// unpack extracts a package into dir/objects and dir/json with
// pvrpkg.Walk, leaving out the object skip ("" for none).
func unpack(t *testing.T, pkg, dir, skip string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "objects"), 0o755))
	f, err := os.Open(pkg)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pvrpkg.Walk(f, func(e pvrpkg.Entry, body io.Reader) error {
		if e.SHA != "" && e.SHA == skip {
			return nil
		}
		data, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, e.Name), data, 0o644)
	}))
}

// repack writes the files of an unpacked package dir as a gzip tarball.
func repack(t *testing.T, dir, out string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := []string{"json"}
	objs, err := os.ReadDir(filepath.Join(dir, "objects"))
	require.NoError(t, err)
	for _, o := range objs {
		names = append(names, "objects/"+o.Name())
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err = tw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(out, buf.Bytes(), 0o644))
}

func TestValidateDirectories(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "validate", "pvwificonnect.golden"))
	require.NoError(t, err)

	pkgDir := t.TempDir()
	unpack(t, resources+"pvwificonnect.tgz", pkgDir, "")
	code, out, errs := validateRun(pkgDir)
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, string(want), out, "an unpacked package validates as the tarball does")

	// A trail: .pvr/json, objects by key name, one only in ObjectsDir.
	trail := filepath.Join(t.TempDir(), "trails", "0")
	objects := filepath.Join(filepath.Dir(filepath.Dir(trail)), "objects")
	require.NoError(t, os.MkdirAll(filepath.Join(trail, ".pvr"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(pkgDir, "objects"), objects))
	require.NoError(t, os.Rename(filepath.Join(pkgDir, "json"), filepath.Join(trail, ".pvr", "json")))
	require.NoError(t, os.WriteFile(filepath.Join(trail, ".pvr", "config"), []byte(`{"ObjectsDir":"../../objects"}`), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(trail, "pvwificonnect"), 0o755))
	require.NoError(t, os.Link(filepath.Join(objects, wifiObject), filepath.Join(trail, "pvwificonnect", "root.squashfs")))
	code, out, errs = validateRun(trail)
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, string(want), out)

	require.NoError(t, os.RemoveAll(objects))
	code, out, errs = validateRun(trail)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "missing objects: 2\nmissing: pvwificonnect/lxc.container.conf ")
	assert.NotContains(t, out, "pvwificonnect/root.squashfs ", "linked into the trail, so not missing")
	assert.Equal(t, "ERROR: "+trail+": 2 of 3 objects missing\n", errs)
}

// TestValidateUploadedStep: a step uploaded to a storage (PUT
// /steps/locals/NAME) is trails/locals/NAME/.pvr/json alone, its objects
// in the storage's objects/: they are found there.
func TestValidateUploadedStep(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "validate", "pvwificonnect.golden"))
	require.NoError(t, err)
	pkgDir := t.TempDir()
	unpack(t, resources+"pvwificonnect.tgz", pkgDir, "")
	root := t.TempDir()
	trail := filepath.Join(root, "trails", "locals", "up")
	require.NoError(t, os.MkdirAll(filepath.Join(trail, ".pvr"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(pkgDir, "objects"), filepath.Join(root, "objects")))
	require.NoError(t, os.Rename(filepath.Join(pkgDir, "json"), filepath.Join(trail, ".pvr", "json")))

	code, out, errs := validateRun(trail)
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, string(want), out)

	require.NoError(t, os.Remove(filepath.Join(root, "objects", wifiObject)))
	code, out, errs = validateRun(trail)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "missing objects: 1\nmissing: pvwificonnect/root.squashfs "+wifiObject+"\n")
	assert.Equal(t, "ERROR: "+trail+": 1 of 3 objects missing\n", errs)
}

func TestValidatePackageMissingObject(t *testing.T) {
	dir := t.TempDir()
	unpack(t, resources+"pvwificonnect.tgz", filepath.Join(dir, "pkg"), wifiObject)
	pkg := filepath.Join(dir, "pkg.tgz")
	repack(t, filepath.Join(dir, "pkg"), pkg)
	for _, in := range []string{pkg, filepath.Join(dir, "pkg")} {
		code, out, errs := validateRun(in)
		assert.Equal(t, 1, code, in)
		assert.Contains(t, out, "container pvwificonnect: ", "the summary is printed first")
		assert.True(t, strings.HasSuffix(out, "objects: 3 keys, 3 unique\nmissing objects: 1\n"+
			"missing: pvwificonnect/root.squashfs "+wifiObject+"\n"+pvwificonnectLXCWarnings), out)
		assert.Equal(t, "ERROR: "+in+": 1 of 3 objects missing\n", errs)
	}
}

// pvwificonnectLXCWarnings are the lines validate adds for the keys of
// pvwificonnect's LXC config the launcher does not apply.
const pvwificonnectLXCWarnings = "warning: pvwificonnect/lxc.container.conf:1: lxc.tty.max: not applied by the launcher: no /dev/ttyN: the container has one console\n" +
	"warning: pvwificonnect/lxc.container.conf:2: lxc.pty.max: not applied by the launcher: devpts is a new instance without a limit\n"

// writeTemp writes data to a new file and returns its path.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func tarOf(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write(make([]byte, h.Size))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestValidateErrors(t *testing.T) {
	spec := `{"#spec":"pantavisor-service-system@1"`
	app := `,"a/lxc.conf":"` + sha1 + `","a/run.json":{"name":"a","type":"lxc","config":"lxc.conf"`
	tests := []struct {
		name, file, data string
		stderr           string // "<path>" is replaced by the input's path
	}{
		{"bad json", "s.json", spec + `,"a":`, "ERROR: state: invalid JSON at byte 43: unexpected end of input\n"},
		{"not an object", "s.json", `[]`, "ERROR: state: want a JSON object, got array\n"},
		{"empty file", "s.json", ``, "ERROR: state: invalid JSON at byte 0: unexpected end of input\n"},
		{"unknown group", "s.json", spec + app + `,"group":"nope"}}`, `ERROR: a/run.json: group: unknown group "nope"` + "\n"},
		{"legacy spec", "s.json", `{"#spec":"pantavisor-multi-platform@1"}`,
			`ERROR: #spec: unsupported spec "pantavisor-multi-platform@1" (legacy format; rebuild the state with a current pvr)` + "\n"},
		{"absolute path key", "s.json", spec + `,"/etc/passwd":"` + sha1 + `"}`, "ERROR: /etc/passwd: absolute path\n"},
		{"newline in key", "s.json", spec + `,"a\nb":1}`, `ERROR: a\nb: want a sha256 string or inline JSON, got number` + "\n"},
		{"package with symlink", "p.tar", string(tarOf(t, &tar.Header{Name: "json", Typeflag: tar.TypeSymlink, Linkname: "/x"})),
			`ERROR: <path>: reading package: entry "json": not a regular file (symlink)` + "\n"},
		{"package with unknown file", "p.tar", string(tarOf(t, &tar.Header{Name: "README", Typeflag: tar.TypeReg, Size: 1})),
			`ERROR: <path>: reading package: unexpected file "README" in package` + "\n"},
		{"package without json", "p.tar", string(tarOf(t, &tar.Header{Name: "objects/", Typeflag: tar.TypeDir})),
			"ERROR: <path>: reading package: no state json\n"},
		{"truncated gzip", "p.tgz", "\x1f\x8b\x08\x00", "ERROR: <path>: reading package: unexpected EOF\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeTemp(t, tt.file, []byte(tt.data))
			code, out, errs := validateRun(p)
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Equal(t, strings.ReplaceAll(tt.stderr, "<path>", p), errs)
		})
	}
}

func TestValidateInputErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	code, _, errs := validateRun(missing)
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR: "+missing+": stat: no such file or directory\n", errs)

	empty := t.TempDir()
	code, _, errs = validateRun(empty)
	assert.Equal(t, 1, code)
	assert.Equal(t, "ERROR: "+empty+": reading package directory "+empty+": no state json (want json or .pvr/json)\n", errs)
}

func TestValidateUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "usage: pantavisor validate [--trust DIR] [--secureboot MODE] [--at TIME] [--oem NAME] [--key-hardware LIST] FILE|DIR|PKG.tgz|PKG.tar\n"},
		{[]string{"a", "b"}, 2, "", "usage: pantavisor validate [--trust DIR] [--secureboot MODE] [--at TIME] [--oem NAME] [--key-hardware LIST] FILE|DIR|PKG.tgz|PKG.tar\n"},
		{[]string{"--bogus", "x"}, 2, "", "flag provided but not defined: -bogus\nusage: pantavisor validate [--trust DIR] [--secureboot MODE] [--at TIME] [--oem NAME] [--key-hardware LIST] FILE|DIR|PKG.tgz|PKG.tar\n"},
		{[]string{"--help"}, 0, validateUsage + validateOptions, ""},
		{[]string{"-h"}, 0, validateUsage + validateOptions, ""},
	}
	for _, tt := range tests {
		code, out, errs := validateRun(tt.args...)
		assert.Equal(t, tt.code, code, tt.args)
		assert.Equal(t, tt.stdout, out, tt.args)
		assert.Equal(t, tt.stderr, errs, tt.args)
	}
}

// validateOptions is what --help prints after validateUsage.
const validateOptions = `
Options:
  -at TIME
    	check certificate dates as of TIME (RFC 3339) instead of now
  -key-hardware LIST
    	the board's NXP key hardware LIST (caam,dcp or none) for the disk lines; default: this board's
  -oem NAME
    	NAME: the device's PV_OEM_NAME, for OEM signatures
  -secureboot MODE
    	secure-boot MODE: disabled, audit, lenient (default) or strict
  -trust DIR
    	check signatures against the trust store in DIR
`

func TestValidateWords(t *testing.T) {
	tests := map[string]string{
		"":           "-",
		"-":          `"-"`,
		"kernel.img": "kernel.img",
		"my app":     `"my app"`,
		"a=b":        `"a=b"`,
		"a:b":        `"a:b"`,
		"a,b":        `"a,b"`,
		`a"b`:        `"a\"b"`,
		"a\nb":       `"a\nb"`,
		"\xff":       `"\xff"`,
		"é":          "é",
	}
	for in, want := range tests {
		assert.Equal(t, want, word(in), "%q", in)
	}
	assert.Equal(t, `a\nb\x00 "c"`, oneLine("a\nb\x00 \"c\""))
}

func TestValidateStateWithSpacesQuotesKeys(t *testing.T) {
	p := writeTemp(t, "s.tar", tarOf(t))
	code, _, _ := validateRun(p)
	assert.Equal(t, 1, code, "an empty package has no state")

	sp := writeTemp(t, "s.json", []byte(`{"#spec":"pantavisor-service-system@1","a b/c":"`+sha1+`"}`))
	dir := filepath.Dir(sp)
	require.NoError(t, os.Rename(sp, filepath.Join(dir, "json")))
	code, out, errs := validateRun(dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `missing: "a b/c" `+sha1+"\n")
	assert.Equal(t, "ERROR: "+dir+": 1 of 1 objects missing\n", errs)
}
