package pvtx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/pvrpkg"
)

// Bad input gets a clear error and loses nothing.

const goodSHA = "f1379c31ed0d24b03f8780a0bbf01b86720ec877eefdc0adc34eb679a4310235"

func TestMalformedJSONIsRefused(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("os.json"))
	before := e.show()
	bad := filepath.Join(e.tmp, "bad.json")
	for _, data := range []string{`{"#spec":"pantavisor-service-system@1","a":`, `["not","an","object"]`, ``, `{"a":1} trailing`} {
		require.NoError(t, os.WriteFile(bad, []byte(data), 0o644))
		err := e.tx.Add(bad)
		require.Error(t, err, "%q", data)
		assert.Contains(t, err.Error(), "incoming json")
		assert.Equal(t, before, e.show(), "state unchanged after %q", data)
	}
	// A package whose json is malformed: refused the same way.
	pkg := writeTar(t, filepath.Join(e.tmp, "bad.tgz"), true, map[string][]byte{"json": []byte(`{"x":`)})
	assert.Error(t, e.tx.Add(pkg))
	assert.Equal(t, before, e.show())
}

func TestBadBaseKeepsTheQueue(t *testing.T) {
	e := newEnv(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueRemove("nginx"))
	bad := filepath.Join(e.tmp, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"#spec":`), 0o644))
	assert.Error(t, e.tx.Begin(bad, ""))
	s, ok, err := e.tx.Load()
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, StateSet, s.State)
	assert.Equal(t, int32(1), s.Count)
}

func TestObjectNotMatchingItsNameIsNotStored(t *testing.T) {
	e := newEnv(t)
	e.beginWith(e.obj)
	pkg := writeTar(t, filepath.Join(e.tmp, "lie.tar"), false, map[string][]byte{
		"json":               []byte(`{"#spec":"pantavisor-service-system@1","a/file":"` + goodSHA + `"}`),
		"objects/" + goodSHA: []byte("not what the name says\n"),
	})
	err := e.tx.Add(pkg)
	require.ErrorIs(t, err, ErrBadObject)
	assert.Contains(t, err.Error(), goodSHA)
	entries, err := os.ReadDir(e.obj)
	require.NoError(t, err)
	assert.Empty(t, entries, "neither the object nor a temporary file is left")
	assert.Equal(t, EmptyState, string(e.show()), "the json was not merged")
}

func TestCorruptExistingObjectIsReplaced(t *testing.T) {
	e := newEnv(t)
	e.beginWith(e.obj)
	require.NoError(t, os.WriteFile(filepath.Join(e.obj, goodSHA), []byte("garbage"), 0o644))
	e.ok(e.tx.Add(res("watchdog_pinger.tar")))
	ok, err := objectOK(filepath.Join(e.obj, goodSHA), goodSHA)
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestPathTraversalInTarIsRefused(t *testing.T) {
	for _, name := range []string{"../evil", "objects/../../evil", "/abs/evil", "objects/" + goodSHA + "/../../evil"} {
		e := newEnv(t)
		e.beginWith(e.obj)
		pkg := writeTar(t, filepath.Join(e.tmp, "evil.tar"), false, map[string][]byte{
			"json": []byte(EmptyState),
			name:   []byte("x"),
		})
		err := e.tx.Add(pkg)
		require.Error(t, err, name)
		assert.True(t, errors.Is(err, pvrpkg.ErrUnsafeName) || errors.Is(err, pvrpkg.ErrUnexpected), "%s: %v", name, err)
		assert.NoFileExists(t, filepath.Join(e.tmp, "evil"))
		assert.NoFileExists(t, filepath.Join(filepath.Dir(e.tmp), "evil"))
	}
}

func TestDeployRefusesEscapingKeys(t *testing.T) {
	for _, st := range []string{
		`{"#spec":"pantavisor-service-system@1","../escape":"text"}`,
		`{"#spec":"pantavisor-service-system@1","a/../../escape":{}}`,
		`{"#spec":"pantavisor-service-system@1","/abs/escape":{}}`,
		`{"#spec":"pantavisor-service-system@1","bsp/run.json":{"linux":"../../escape"}}`,
	} {
		e := newEnv(t)
		deploy := filepath.Join(e.tmp, "deploy")
		require.NoError(t, os.MkdirAll(deploy, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(deploy, "old"), []byte("kept"), 0o644))
		src := filepath.Join(e.tmp, "st.json")
		require.NoError(t, os.WriteFile(src, []byte(st), 0o644))
		e.ok(e.tx.Begin(src, e.obj))
		err := e.tx.Deploy(deploy)
		require.Error(t, err, st)
		assert.Contains(t, err.Error(), "escape")
		assert.NoFileExists(t, filepath.Join(e.tmp, "escape"))
		assert.Equal(t, "kept", string(must(os.ReadFile(filepath.Join(deploy, "old")))), "old deploy untouched")
		left, _ := filepath.Glob(filepath.Join(e.tmp, "deploy.tmp*"))
		assert.Empty(t, left, "temporary directory removed")
		_, err = e.tx.Show()
		assert.NoError(t, err, "still active")
	}
}

func TestDeployMissingObjectKeepsTheOldTree(t *testing.T) {
	e := newEnv(t)
	deploy := filepath.Join(e.tmp, "deploy")
	require.NoError(t, os.MkdirAll(deploy, 0o755))
	e.beginWith(e.obj, res("os.json")) // objects never added
	err := e.tx.Deploy(deploy)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "object of ")
	entries, _ := os.ReadDir(deploy)
	assert.Empty(t, entries)
}

func TestDeployWritesTheCheckout(t *testing.T) {
	e := newEnv(t)
	deploy := filepath.Join(e.tmp, "deploy")
	require.NoError(t, os.MkdirAll(filepath.Join(deploy, ".pvr"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(deploy, ".pvr", "config"), []byte(`{"ObjectsDir":"/mine"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(deploy, "stale"), nil, 0o644))
	kernel := []byte("kernel image\n")
	sha := sha256hex(kernel)
	pkg := writeTar(t, filepath.Join(e.tmp, "bsp.tgz"), true, map[string][]byte{
		"json": []byte(`{"#spec":"pantavisor-service-system@1","bsp/kernel.img":"` + sha + `",` +
			`"bsp/run.json":{"linux":"kernel.img","fdt":"missing.dtb"},"note":"a\nb"}`),
		"objects/" + sha: kernel,
	})
	e.beginWith(e.obj, pkg)
	e.ok(e.tx.Deploy(deploy))
	assert.Equal(t, `{"ObjectsDir":"/mine"}`, string(must(os.ReadFile(filepath.Join(deploy, ".pvr", "config")))), "config kept")
	assert.Equal(t, kernel, must(os.ReadFile(filepath.Join(deploy, ".pv", "pv-kernel.img"))))
	assert.Equal(t, `{"linux":"kernel.img","fdt":"missing.dtb"}`, string(must(os.ReadFile(filepath.Join(deploy, "bsp", "run.json")))))
	assert.Equal(t, "a\nb", string(must(os.ReadFile(filepath.Join(deploy, "note")))))
	assert.NoFileExists(t, filepath.Join(deploy, "stale"), "the old tree is replaced")
	assert.NoDirExists(t, deploy+".bak")
	s, _, _ := e.tx.Load()
	assert.Equal(t, StateDeployed, s.State)
}

func TestDeployRefusesAStaleBackup(t *testing.T) {
	e := newEnv(t)
	deploy := filepath.Join(e.tmp, "deploy")
	require.NoError(t, os.MkdirAll(deploy+".bak", 0o755))
	e.beginWith(e.obj)
	err := e.tx.Deploy(deploy)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".bak exists")
	assert.DirExists(t, deploy+".bak")
}

// TestDeploySwapFailureReportsTheBackup: when the new tree cannot take
// the old one's place and the old one cannot be put back either, the
// error says both and where the old tree is.
func TestDeploySwapFailureReportsTheBackup(t *testing.T) {
	e := newEnv(t)
	deploy := filepath.Join(e.tmp, "deploy")
	require.NoError(t, os.MkdirAll(deploy, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(deploy, "old"), nil, 0o644))
	e.beginWith(e.obj)
	e.tx.W.Crash = func(point string) {
		if point == "rename "+deploy {
			// Something takes the place: a non-empty directory makes
			// both renames onto it fail (ENOTEMPTY).
			require.NoError(t, os.MkdirAll(filepath.Join(deploy, "intruder"), 0o755))
		}
	}
	err := e.tx.Deploy(deploy)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "swapping in "+deploy)
	assert.Contains(t, err.Error(), "restoring "+deploy+" from "+deploy+".bak")
	assert.FileExists(t, filepath.Join(deploy+".bak", "old"), "the old tree is kept in the backup")
}

func TestQueueNamesStayInTheQueue(t *testing.T) {
	e := newEnv(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueRemove("../../escape"))
	assert.FileExists(t, filepath.Join(q, "000__..%2F..%2Fescape.remove"))
	// A JSON given by path is queued under its base name.
	e.ok(e.tx.QueueUnpack(res("os.json")))
	assert.FileExists(t, filepath.Join(q, "001__os.json", "json"))
	assert.Error(t, e.tx.QueueRemove(""))
	assert.Error(t, e.tx.QueueRemove(strings.Repeat("x", 300)))
	// A bad JSON is not queued and does not take a number.
	bad := filepath.Join(e.tmp, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{"), 0o644))
	assert.Error(t, e.tx.QueueUnpack(bad))
	s, _, _ := e.tx.Load()
	assert.Equal(t, int32(2), s.Count)
	// Processing applies the remove of a name that matches nothing.
	e.ok(e.tx.QueueProcess("empty", "", ""))
	e.compare(res("os.json"), e.show())
}

func TestQueueProcessFailureChangesNothing(t *testing.T) {
	e := newEnv(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueRemove("os"))
	require.NoError(t, os.MkdirAll(filepath.Join(q, "001__broken"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(q, "001__broken", "json"), []byte("{"), 0o644))
	e.ok(e.tx.Begin(res("os.json"), ""))
	before := e.show()
	err := e.tx.QueueProcess("", "", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "001__broken")
	assert.Equal(t, before, e.show())
}

func TestStatusLayout(t *testing.T) {
	s := Status{State: StateActive, Local: true, Objects: "/o"}
	b, err := s.MarshalBinary()
	require.NoError(t, err)
	assert.Len(t, b, 4104)
	assert.Equal(t, []byte{2, 0, 0, 0, 1, 0, 0, 0, '/', 'o', 0}, b[:11])
	got, err := ParseStatus(b)
	require.NoError(t, err)
	assert.Equal(t, s, got)

	s.Queue, s.Count, s.Error = "/q", 7, -1
	b, err = s.MarshalBinary()
	require.NoError(t, err)
	assert.Len(t, b, 8208)
	assert.Equal(t, []byte{'/', 'q', 0}, b[4104:4107])
	assert.Equal(t, []byte{7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, b[8200:])
	got, err = ParseStatus(b)
	require.NoError(t, err)
	assert.Equal(t, s, got)

	_, err = ParseStatus(b[:100])
	assert.ErrorIs(t, err, ErrBadStatus)
	_, err = (&Status{Objects: strings.Repeat("x", 4096)}).MarshalBinary()
	assert.Error(t, err)
}

func TestRevisionNames(t *testing.T) {
	for rev, ok := range map[string]bool{
		"locals/a": true, "locals/" + strings.Repeat("x", 64): true,
		"locals/" + strings.Repeat("x", 65): false, "locals/": false, "locals/a/b": false,
		"a": false, "locals/..": false, "5": false,
		// storage.CheckLocalName's rule, which pvtx once accepted.
		"locals/.x": false, "locals/a\\b": false, "locals/a?b": false, "locals/a%2fb": false, "locals/a\nb": false,
		"locals/pvtx-1-ab-2": true,
	} {
		assert.Equal(t, ok, checkRevision(rev) == nil, rev)
	}
}

// FuzzState checks that no state makes parsing, adding or removing panic,
// and that what Bytes writes parses again with the same keys.
func FuzzState(f *testing.F) {
	f.Add([]byte(EmptyState), []byte(`{"a/b":"x","_sigs/a.json":{"protected":"eyJwdnMiOnsiaW5jbHVkZSI6WyJhLyoqIl19fQ"}}`), "a")
	f.Add(must(os.ReadFile(res("initial_state.json"))), must(os.ReadFile(res("awconnect.json"))), "_config/awconnect")
	f.Fuzz(func(t *testing.T, a, b []byte, part string) {
		st, err := ParseState(a)
		if err != nil {
			return
		}
		if in, err := ParseState(b); err == nil {
			st.Add(in)
		}
		st.Remove(part)
		again, err := ParseState(st.Bytes())
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, st.Bytes())
		}
		assert.Equal(t, st.Keys(), again.Keys())
	})
}

func FuzzParseStatus(f *testing.F) {
	b, _ := (&Status{State: StateSet, Local: true, Objects: "/o", Queue: "/q", Count: 3}).MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err != nil {
			return
		}
		out, err := s.MarshalBinary()
		if err != nil {
			return
		}
		again, err := ParseStatus(out)
		require.NoError(t, err)
		assert.Equal(t, s, again)
	})
}

func sha256hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// A bzip2 package (upstream reads them; we do not link the decoder) is
// recognised and refused with ErrBzip2, not parsed as a state JSON.
func TestBzip2PackageIsRefused(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("os.json"))
	before := e.show()
	pkg := filepath.Join(e.tmp, "pkg.tar.bz2")
	require.NoError(t, os.WriteFile(pkg, []byte("BZh91AY&SY\x00\x00\x00\x00"), 0o644))
	err := e.tx.Add(pkg)
	require.ErrorIs(t, err, ErrBzip2)
	assert.Contains(t, err.Error(), "recompress the tar with gzip")
	assert.Equal(t, before, e.show(), "state unchanged")
}
