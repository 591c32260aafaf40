package meta

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/persist"
)

// change is one OnChange call.
type change struct {
	key, value string
	deleted    bool
}

// fixture is a store in a temp dir: run dir, its view and a persisted copy.
type fixture struct {
	run, persist string
	changes      []change
}

func newFixture(t *testing.T) *fixture {
	d := t.TempDir()
	return &fixture{run: filepath.Join(d, "run"), persist: filepath.Join(d, "storage", "cache", "meta")}
}

// store returns a new Store on the fixture's dirs, as after a reboot.
func (f *fixture) store(k Kind) *Store {
	return &Store{Kind: k, RunDir: f.run, Persist: f.persist, OnChange: func(key, value string, deleted bool) {
		f.changes = append(f.changes, change{key, value, deleted})
	}}
}

// tree returns every regular file under dir as relative path -> content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		require.NoError(t, err)
		if de.Type().IsRegular() {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSetGetDeleteList(t *testing.T) {
	f := newFixture(t)
	s := f.store(User)

	require.NoError(t, s.Set("PH_UPDATER_INTERVAL", "60"))
	require.NoError(t, s.Set("app.greeting", "hello"))
	require.NoError(t, s.Set("app.a.b", "dotted"))
	require.NoError(t, s.Set("other.x", ""))
	require.NoError(t, s.Set("app.greeting", "hi")) // overwrite

	assert.Equal(t, map[string]string{
		"user-meta/PH_UPDATER_INTERVAL": "60",
		"user-meta/app.greeting":        "hi",
		"user-meta/app.a.b":             "dotted",
		"user-meta/other.x":             "",
		"user-meta.app/greeting":        "hi",
		"user-meta.app/a.b":             "dotted",
		"user-meta.other/x":             "",
	}, tree(t, f.run))
	assert.Equal(t, map[string]string{
		"PH_UPDATER_INTERVAL": "60", "app.greeting": "hi", "app.a.b": "dotted", "other.x": "",
	}, tree(t, f.persist))

	v, err := s.Get("app.greeting")
	require.NoError(t, err)
	assert.Equal(t, "hi", v)
	_, err = s.Get("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.EqualError(t, err, `user-meta "nope": metadata key not found`)
	_, err = s.Get("a/b")
	assert.ErrorIs(t, err, ErrInvalidKey)

	list, err := s.List()
	require.NoError(t, err)
	assert.Equal(t, []Entry{
		{"PH_UPDATER_INTERVAL", "60"}, {"app.a.b", "dotted"}, {"app.greeting", "hi"}, {"other.x", ""},
	}, list)

	require.NoError(t, s.Delete("app.greeting"))
	assert.ErrorIs(t, s.Delete("app.greeting"), ErrNotFound)
	assert.ErrorIs(t, s.Delete("../x"), ErrInvalidKey)
	assert.Equal(t, map[string]string{
		"user-meta/PH_UPDATER_INTERVAL": "60",
		"user-meta/app.a.b":             "dotted",
		"user-meta/other.x":             "",
		"user-meta.app/a.b":             "dotted",
		"user-meta.other/x":             "",
	}, tree(t, f.run))
	assert.NotContains(t, tree(t, f.persist), "app.greeting")

	assert.Equal(t, []change{
		{"PH_UPDATER_INTERVAL", "60", false},
		{"app.greeting", "hello", false},
		{"app.a.b", "dotted", false},
		{"other.x", "", false},
		{"app.greeting", "hi", false},
		{"app.greeting", "", true},
	}, f.changes)

	js, err := s.JSON()
	require.NoError(t, err)
	assert.Equal(t, `{"PH_UPDATER_INTERVAL":"60","app.a.b":"dotted","other.x":""}`, string(js))
}

func TestSetUnchangedIsNoOp(t *testing.T) {
	f := newFixture(t)
	s := f.store(User)
	require.NoError(t, s.Set("k", "v"))
	var points []string
	s.W = &persist.Writer{Crash: func(p string) { points = append(points, p) }}
	require.NoError(t, s.Set("k", "v"))
	assert.Empty(t, points, "no write")
	assert.Len(t, f.changes, 1, "no second OnChange")
}

func TestSetRefusals(t *testing.T) {
	f := newFixture(t)
	s := f.store(Device)
	assert.ErrorIs(t, s.Set("", "v"), ErrInvalidKey)
	assert.ErrorIs(t, s.Set("a/b", "v"), ErrInvalidKey)
	err := s.Set("big", strings.Repeat("x", MaxValue+1))
	assert.ErrorIs(t, err, ErrValueTooLarge)
	assert.EqualError(t, err, `metadata value too large: key "big" has 65537 bytes, at most 65536`)
	require.NoError(t, s.Set("max", strings.Repeat("x", MaxValue)))
	assert.Equal(t, []string{"device-meta/max"}, keys(tree(t, f.run)))
	assert.Len(t, f.changes, 1)
}

func TestWritesAreAtomic(t *testing.T) {
	f := newFixture(t)
	s := f.store(User)
	var points []string
	s.W = &persist.Writer{Crash: func(p string) { points = append(points, p) }}
	require.NoError(t, s.Set("app.k", "v"))
	// Persisted copy first, then the view, then the container view; each
	// through a hidden temporary that no key can name.
	var writes []string
	for _, p := range points {
		if strings.HasPrefix(p, "write ") || strings.HasPrefix(p, "rename ") {
			writes = append(writes, p)
		}
	}
	assert.Equal(t, []string{
		"write " + filepath.Join(f.persist, ".app.k.tmp"),
		"rename " + filepath.Join(f.persist, "app.k"),
		"write " + filepath.Join(f.run, "user-meta", ".app.k.tmp"),
		"rename " + filepath.Join(f.run, "user-meta", "app.k"),
		"write " + filepath.Join(f.run, "user-meta.app", ".k.tmp"),
		"rename " + filepath.Join(f.run, "user-meta.app", "k"),
	}, writes)
}

func TestPersistAndLoadAfterReboot(t *testing.T) {
	f := newFixture(t)
	s := f.store(User)
	require.NoError(t, s.Set("PV_LOG_LEVEL", "5"))
	require.NoError(t, s.Set("app.k", "v"))
	require.NoError(t, s.Set("gone", "x"))
	require.NoError(t, s.Delete("gone"))

	// Reboot: the run dir is a fresh tmpfs, except a stale key a previous
	// run left; an interrupted write left a temporary in the storage, and
	// someone dropped junk there.
	require.NoError(t, os.RemoveAll(f.run))
	require.NoError(t, os.MkdirAll(filepath.Join(f.run, "user-meta"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(f.run, "user-meta", "stale.k"), []byte("old"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(f.run, "user-meta.stale"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(f.run, "user-meta.stale", "k"), []byte("old"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(f.persist, ".PV_LOG_LEVEL.tmp"), []byte("half"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(f.persist, "subdir"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(f.persist, "big"), make([]byte, MaxValue+1), 0o644))

	f.changes = nil
	s2 := f.store(User)
	err := s2.Load()
	assert.ErrorIs(t, err, ErrValueTooLarge)
	assert.ErrorContains(t, err, filepath.Join(f.persist, "big"))

	assert.Equal(t, map[string]string{
		"user-meta/PV_LOG_LEVEL": "5",
		"user-meta/app.k":        "v",
		"user-meta.app/k":        "v",
	}, tree(t, f.run))
	assert.NotContains(t, tree(t, f.persist), ".PV_LOG_LEVEL.tmp")
	assert.Equal(t, []change{{"PV_LOG_LEVEL", "5", false}, {"app.k", "v", false}}, f.changes)

	v, err := s2.Get("app.k")
	require.NoError(t, err)
	assert.Equal(t, "v", v)
}

func TestLoadWithoutPersist(t *testing.T) {
	f := newFixture(t)
	s := f.store(Device)
	s.Persist = ""
	require.NoError(t, s.Set("pantavisor.mode", "local"))
	assert.Empty(t, tree(t, f.persist))
	s2 := f.store(Device)
	s2.Persist = ""
	require.NoError(t, s2.Load())
	v, err := s2.Get("pantavisor.mode")
	require.NoError(t, err)
	assert.Equal(t, "local", v)
}

func TestPersistIsDir(t *testing.T) {
	// The engine may bind-mount the persisted dir (or the pv--usrmeta
	// volume) on the view, as upstream does: write once, Load rebuilds the
	// container views only.
	f := newFixture(t)
	s := f.store(User)
	s.Dir = f.persist
	var points []string
	s.W = &persist.Writer{Crash: func(p string) { points = append(points, p) }}
	require.NoError(t, s.Set("app.k", "v"))
	n := 0
	for _, p := range points {
		if strings.HasPrefix(p, "write ") {
			n++
		}
	}
	assert.Equal(t, 2, n, "view and container view, no second copy: %v", points)

	require.NoError(t, os.RemoveAll(f.run))
	f.changes = nil
	s2 := f.store(User)
	s2.Dir = f.persist + "/"
	require.NoError(t, s2.Load())
	assert.Equal(t, map[string]string{"user-meta.app/k": "v"}, tree(t, f.run))
	assert.Equal(t, map[string]string{"app.k": "v"}, tree(t, f.persist))
	assert.Equal(t, []change{{"app.k", "v", false}}, f.changes)
}

func TestReplace(t *testing.T) {
	f := newFixture(t)
	s := f.store(User)
	require.NoError(t, s.Set("keep", "same"))
	require.NoError(t, s.Set("change", "old"))
	require.NoError(t, s.Set("app.drop", "x"))
	f.changes = nil

	err := s.Replace(map[string]string{
		"keep":     "same",
		"change":   "new",
		"app.add":  "y",
		"app/key":  "refused",
		"huge.one": strings.Repeat("z", MaxValue+1),
	})
	assert.ErrorIs(t, err, ErrInvalidKey)
	assert.ErrorIs(t, err, ErrValueTooLarge)

	list, lerr := s.List()
	require.NoError(t, lerr)
	assert.Equal(t, []Entry{{"app.add", "y"}, {"change", "new"}, {"keep", "same"}}, list)
	assert.Equal(t, map[string]string{
		"user-meta/app.add": "y", "user-meta/change": "new", "user-meta/keep": "same",
		"user-meta.app/add": "y",
	}, tree(t, f.run))
	assert.Equal(t, map[string]string{"app.add": "y", "change": "new", "keep": "same"}, tree(t, f.persist))
	// Sets in key order, then deletions; nothing for the unchanged key.
	assert.Equal(t, []change{
		{"app.add", "y", false},
		{"change", "new", false},
		{"app.drop", "", true},
	}, f.changes)

	f.changes = nil
	require.NoError(t, s.Replace(nil))
	list, lerr = s.List()
	require.NoError(t, lerr)
	assert.Empty(t, list)
	var deleted []string
	for _, c := range f.changes {
		assert.True(t, c.deleted)
		deleted = append(deleted, c.key)
	}
	sort.Strings(deleted)
	assert.Equal(t, []string{"app.add", "change", "keep"}, deleted)
}

func TestListSkipsNonKeys(t *testing.T) {
	f := newFixture(t)
	s := f.store(Device)
	list, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, list, "no dir yet")
	require.NoError(t, s.Set("a", "1"))
	d := filepath.Join(f.run, "device-meta")
	require.NoError(t, os.WriteFile(filepath.Join(d, ".a.tmp"), []byte("t"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(d, "sub"), 0o755))
	require.NoError(t, os.Symlink("a", filepath.Join(d, "link")))
	list, err = s.List()
	require.NoError(t, err)
	assert.Equal(t, []Entry{{"a", "1"}}, list)
}

func TestPrepareContainer(t *testing.T) {
	f := newFixture(t)
	s := f.store(Device)
	d, err := s.PrepareContainer("app")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(f.run, "device-meta.app"), d)
	assert.DirExists(t, d)
	for _, bad := range []string{"", "a.b", "../x", "a/b"} {
		_, err := s.PrepareContainer(bad)
		assert.Error(t, err, bad)
	}
}

func TestEngineSetters(t *testing.T) {
	f := newFixture(t)
	s := f.store(Device)
	require.NoError(t, s.SetStatus("READY"))
	require.NoError(t, s.SetRevision("locals/my-rev"))
	require.NoError(t, s.SetMode(false))
	require.NoError(t, s.Publish([]Entry{{"interfaces", `{"eth0.ipv4":["192.168.1.10"]}`}}))
	js, err := s.JSON()
	require.NoError(t, err)
	assert.Equal(t, `{"interfaces":{"eth0.ipv4":["192.168.1.10"]},"pantavisor.mode":"local",`+
		`"pantavisor.revision":"locals/my-rev","pantavisor.status":"READY"}`, string(js))
	require.NoError(t, s.SetMode(true))
	v, err := s.Get(KeyMode)
	require.NoError(t, err)
	assert.Equal(t, "remote", v)
	assert.Equal(t, "locals/my-rev", tree(t, f.run)["device-meta.pantavisor/revision"])
	assert.ErrorIs(t, s.Publish([]Entry{{"ok", "1"}, {"a/b", "2"}}), ErrInvalidKey)
	v, err = s.Get("ok")
	require.NoError(t, err)
	assert.Equal(t, "1", v)
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	s := f.store(User)
	s.OnChange = nil
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 5; i++ {
				assert.NoError(t, s.Set("app.k", strings.Repeat("v", i)))
				_, _ = s.List()
				assert.NoError(t, s.Replace(map[string]string{"app.k": "r", "other": "o"}))
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	list, err := s.List()
	require.NoError(t, err)
	assert.Equal(t, []Entry{{"app.k", "r"}, {"other", "o"}}, list)
}
