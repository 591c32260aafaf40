package pvtx

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cases of upstream's test/pvtx/pvtx.sh, run through the Txn methods
// the pvtx commands call (applets/pvtx maps one to the other), compared as
// upstream compares them: JSON with sorted keys.

// pvwifiPath is upstream's 3.5 MB pvwificonnect.tgz, read from the shared
// conformance directory instead of being copied here.
const pvwifiPath = "../../../shared/conformance/pvtx/resources/pvwificonnect.tgz"

type env struct {
	t   *testing.T
	tx  *Txn
	tmp string
	obj string // upstream's PVTX_OBJECTS
}

func newEnv(t *testing.T) *env {
	tmp := t.TempDir()
	e := &env{t: t, tx: &Txn{Dir: filepath.Join(tmp, "pvtxdir")}, tmp: tmp, obj: filepath.Join(tmp, "objects")}
	require.NoError(t, os.MkdirAll(e.obj, 0o755))
	return e
}

func res(name string) string      { return filepath.Join("testdata", name) }
func expected(name string) string { return filepath.Join("testdata", "expected", name) }

func pvwifi(t *testing.T) string {
	if _, err := os.Stat(pvwifiPath); err != nil {
		t.Skipf("%s not found: the conformance dir is absent (%v)", pvwifiPath, err)
	}
	return pvwifiPath
}

func (e *env) ok(err error) { e.t.Helper(); require.NoError(e.t, err) }

// show returns the state as "pvtx show" prints it, checked as upstream
// checks every result: valid JSON, with "#spec", idempotent.
func (e *env) show() []byte {
	e.t.Helper()
	out, err := e.tx.Show()
	require.NoError(e.t, err)
	var v map[string]any
	require.NoError(e.t, json.Unmarshal(out, &v), "show output is not JSON: %s", out)
	assert.Contains(e.t, v, "#spec")
	again, err := e.tx.Show()
	require.NoError(e.t, err)
	assert.Equal(e.t, string(out), string(again), "show is not idempotent")
	return out
}

// sorted re-encodes JSON with sorted keys (jq --sort-keys).
func sorted(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(data, &v), "%s", data)
	out, err := json.MarshalIndent(v, "", " ")
	require.NoError(t, err)
	return string(out)
}

func (e *env) compare(wantFile string, got []byte) {
	e.t.Helper()
	want, err := os.ReadFile(wantFile)
	require.NoError(e.t, err)
	assert.Equal(e.t, sorted(e.t, want), sorted(e.t, got))
}

// tgz packs a state JSON as the "json" of a gzip tarball, as upstream's
// create_tar does.
func (e *env) tgz(jsonFile string) string {
	data, err := os.ReadFile(jsonFile)
	require.NoError(e.t, err)
	return writeTar(e.t, filepath.Join(e.tmp, filepath.Base(jsonFile)+".tar.gz"), true, map[string][]byte{"json": data})
}

// writeTar writes files (sorted by name) as a tar, gzip-compressed if gz.
func writeTar(t *testing.T, path string, gz bool, files map[string][]byte) string {
	var buf bytes.Buffer
	var zw *gzip.Writer
	tw := tar.NewWriter(&buf)
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	for _, n := range sortedStrings(names) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(files[n])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	if zw != nil {
		require.NoError(t, zw.Close())
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

func sortedStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// beginWith is "abort; begin empty [objdir]; add file...".
func (e *env) beginWith(objdir string, files ...string) {
	e.t.Helper()
	e.ok(e.tx.Abort())
	e.ok(e.tx.Begin("empty", objdir))
	for _, f := range files {
		e.ok(e.tx.Add(f))
	}
}

func TestCreateEmptyTransaction(t *testing.T) {
	e := newEnv(t)
	e.beginWith("")
	e.compare(expected("state-empty.json"), e.show())
}

func TestEmptyTransactionHasSpec(t *testing.T) {
	e := newEnv(t)
	e.beginWith("")
	assert.Equal(t, EmptyState, string(e.show()))
}

func TestProcessJSONKeysWithSpaces(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("state_with_spaces.json"))
	e.compare(res("state_with_spaces.json"), e.show())
}

func TestSignatureRemoval(t *testing.T) {
	for name, part := range map[string]string{
		"test_signature_removal":  "_sigs/awconnect.json",
		"test_signature_removal2": "awconnect",
		"test_signature_removal3": "_config/awconnect",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.beginWith("", res("initial_state.json"))
			e.ok(e.tx.Remove(part))
			got := e.show()
			e.compare(expected("state_after_remove.json"), got)
			assert.NotContains(t, string(got), `"awconnect/`)
			assert.NotContains(t, string(got), `"_sigs/awconnect.json"`)
		})
	}
}

func TestRemovalConfigPkg(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("state-1.json"))
	e.ok(e.tx.Remove("_sigs/nginx-config.json"))
	e.compare(expected("state_after_remove_config_pkg.json"), e.show())
}

func TestPackageUpdate(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"), e.tgz(res("awconnect.json")))
	e.compare(expected("state_after_adding_existing.json"), e.show())
}

func TestAddPackageFromTar(t *testing.T) {
	e := newEnv(t)
	e.beginWith(e.obj, res("watchdog_pinger.tar"))
	e.compare(expected("state_after_add_from_tar.json"), e.show())
	// The objects are in the objects directory, under their sha256.
	for _, sha := range []string{
		"2a267f8d5a928c8d4bdab8ca126df84e5c8f989d1150e7b0766515f6befaaa44",
		"d5b764cc7c7391e5a505d4b4964ec402ac417e58ee5b538105b960a462f8b911",
		"f1379c31ed0d24b03f8780a0bbf01b86720ec877eefdc0adc34eb679a4310235",
	} {
		ok, err := objectOK(filepath.Join(e.obj, sha), sha)
		require.NoError(t, err)
		assert.True(t, ok, sha)
	}
}

func TestAddNewPackage(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"), e.tgz(res("vaultwarden.json")))
	e.compare(expected("state_after_new_package.json"), e.show())
}

func TestAddNewPackageFromCat(t *testing.T) {
	e := newEnv(t)
	pkg := pvwifi(t)
	e.beginWith(e.obj, res("initial_state.json"))
	f, err := os.Open(pkg)
	require.NoError(t, err)
	defer f.Close()
	e.ok(e.tx.AddFrom(f)) // "cat pvwificonnect.tgz | pvtx add -"
	e.compare(expected("state_after_pvwificonnect.json"), e.show())
}

func TestUpdateBSP(t *testing.T) {
	for name, base := range map[string]string{
		"test_update_bsp":             "bsp_init.json",
		"test_update_bsp_with_groups": "bsp_init_groups.json",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.beginWith("", res(base), e.tgz(res("bsp_update.json")))
			got := e.show()
			e.compare(expected("state_bsp_update.json"), got)
			assert.NotContains(t, string(got), `"groups.json"`)
			assert.NotContains(t, string(got), `"disks.json"`)
		})
	}
}

func TestInstallFromTgz(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", e.tgz(res("os.json")))
	e.compare(expected("state_after_os_install.json"), e.show())
}

func TestTwoPackagesSigningSameFiles(t *testing.T) {
	for name, c := range map[string][3]string{
		"test_two_package_signing_same_files":            {"config_a.json", "config_b.json", "state_after_install_config_b_remove_config_a.json"},
		"test_two_package_signing_same_files_with_globs": {"config_a_glob.json", "config_b_glob.json", "state_after_install_config_b_remove_config_a_with_glob.json"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.beginWith("", res(c[0]), res(c[1]))
			e.ok(e.tx.Remove("_sigs/config_a.json"))
			e.compare(expected(c[2]), e.show())
		})
	}
}

func TestRemovalOfSignedConfig(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("pvws_with_config.json"))
	e.compare(expected("state_pvws_with_config.json"), e.show())
	e.ok(e.tx.Add(res("pvws_without_config.json")))
	got := e.show()
	e.compare(expected("state_pvws_without_config.json"), got)
	assert.NotContains(t, string(got), `"_config/pvws/`)
}

// readStatus reads the .status file as upstream's test does: int32 at 0
// and 4, strings at 8 and 4104.
func readStatus(t *testing.T, dir string) (status, local int32, obj, queue string) {
	b, err := os.ReadFile(filepath.Join(dir, ".status"))
	require.NoError(t, err)
	require.Len(t, b, 8208)
	str := func(off int) string { return strings.TrimRight(string(b[off:off+4096]), "\x00") }
	return int32(binary.LittleEndian.Uint32(b[0:])), int32(binary.LittleEndian.Uint32(b[4:])), str(8), str(4104)
}

func TestQueueNew(t *testing.T) {
	e := newEnv(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.Abort())
	e.ok(e.tx.QueueNew(q, e.obj))
	status, local, obj, queue := readStatus(t, e.tx.Dir)
	assert.Equal(t, int32(1), status)
	assert.Equal(t, int32(1), local)
	assert.Equal(t, e.obj, obj)
	assert.Equal(t, q, queue)
	assert.DirExists(t, q)
}

func TestQueueActions(t *testing.T) {
	e := newEnv(t)
	pkg := pvwifi(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueRemove("nginx"))
	e.ok(e.tx.QueueRemove("_config/nginx"))
	e.ok(e.tx.QueueRemove("_sigs/nginx-config.json"))
	e.ok(e.tx.QueueUnpack(pkg))
	for _, f := range []string{"000__nginx.remove", "001___config%2Fnginx.remove", "002___sigs%2Fnginx-config.json.remove"} {
		assert.FileExists(t, filepath.Join(q, f))
	}
	assert.FileExists(t, filepath.Join(q, "003__pvwificonnect.tgz", "json"))
	assert.FileExists(t, filepath.Join(e.obj, "d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c"))
}

func TestQueueProcess(t *testing.T) {
	e := newEnv(t)
	pkg := pvwifi(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.Abort())
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueUnpack(pkg))
	e.ok(e.tx.Begin(res("initial_state.json"), ""))
	e.ok(e.tx.QueueProcess("", "", ""))
	e.compare(expected("state_after_pvwificonnect.json"), e.show())
}

func TestQueueProcessWithRemove(t *testing.T) {
	e := newEnv(t)
	q := filepath.Join(e.tmp, "queue")
	e.ok(e.tx.Abort())
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueRemove("_sigs/awconnect.json"))
	e.ok(e.tx.Begin(res("initial_state.json"), ""))
	e.ok(e.tx.QueueProcess("", "", ""))
	e.compare(expected("state_after_remove.json"), e.show())
}

func TestDeploy(t *testing.T) {
	e := newEnv(t)
	pkg := pvwifi(t)
	q, deploy := filepath.Join(e.tmp, "queue"), filepath.Join(e.tmp, "deploy")
	require.NoError(t, os.MkdirAll(deploy, 0o755))
	e.ok(e.tx.Abort())
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueUnpack(pkg))
	e.ok(e.tx.Begin("empty", ""))
	e.ok(e.tx.QueueProcess("", "", ""))
	shown := e.show()
	e.ok(e.tx.Deploy(deploy))
	e.compare(filepath.Join(deploy, ".pvr", "json"), shown)
	assertDeployed(t, deploy, e.obj, shown)
}

func TestProcessQueueWithoutBegin(t *testing.T) {
	e := newEnv(t)
	q, deploy := filepath.Join(e.tmp, "queue"), filepath.Join(e.tmp, "deploy")
	require.NoError(t, os.MkdirAll(deploy, 0o755))
	e.ok(e.tx.QueueNew(q, e.obj))
	e.ok(e.tx.QueueUnpack(res("watchdog_pinger.tar")))
	e.ok(e.tx.QueueProcess("empty", "", ""))
	shown := e.show()
	e.ok(e.tx.Deploy(deploy))
	e.compare(filepath.Join(deploy, ".pvr", "json"), shown)
	e.compare(expected("state_after_add_from_tar.json"), shown)
	assertDeployed(t, deploy, e.obj, shown)
}

// assertDeployed checks a deployed checkout: every object key is a hard
// link of its object, every other key a file, and .pvr/config names the
// objects directory.
func assertDeployed(t *testing.T, dir, obj string, st []byte) {
	var m map[string]any
	require.NoError(t, json.Unmarshal(st, &m))
	for k, v := range m {
		if k == "#spec" {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, k))
		require.NoError(t, err, k)
		if s, ok := v.(string); ok && len(s) == 64 {
			ofi, err := os.Stat(filepath.Join(obj, s))
			require.NoError(t, err)
			assert.True(t, os.SameFile(fi, ofi), "%s is not a link of its object", k)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, ".pvr", "config"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"ObjectsDir":`+string(must(json.Marshal(obj)))+`}`, string(conf))
	assert.DirExists(t, filepath.Join(dir, ".pv"))
	assert.NoDirExists(t, dir+".bak")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLocalTransactionCannotCommit(t *testing.T) {
	e := newEnv(t)
	e.beginWith(e.obj)
	_, err := e.tx.Commit("")
	assert.ErrorIs(t, err, ErrLocal)
}

func TestShowIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"))
	a := e.show()
	b := e.show()
	assert.Equal(t, a, b)
}

func TestSpecPreservedAfterRemove(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"))
	e.ok(e.tx.Remove("awconnect"))
	assert.True(t, strings.HasPrefix(string(e.show()), `{"#spec":"pantavisor-service-system@1",`))
}

func TestAddStateRoundtrip(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"))
	e.compare(res("initial_state.json"), e.show())
}

func TestDoubleAddIsIdempotent(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"))
	once := e.show()
	e.ok(e.tx.Add(res("initial_state.json")))
	assert.Equal(t, sorted(t, once), sorted(t, e.show()))
}

func TestAbortClearsTransaction(t *testing.T) {
	e := newEnv(t)
	e.beginWith("", res("initial_state.json"))
	e.ok(e.tx.Abort())
	_, err := e.tx.Show()
	assert.ErrorIs(t, err, ErrNoTransaction)
	e.ok(e.tx.Begin("empty", ""))
	e.compare(expected("state-empty.json"), e.show())
}
