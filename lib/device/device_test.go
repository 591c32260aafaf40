package device

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/config"
	"pantavisor/lib/engine"
	"pantavisor/lib/instance"
	"pantavisor/lib/logs"
	"pantavisor/lib/pubkey/pubkeytest"
	"pantavisor/lib/pvs"
	"pantavisor/lib/pvs/sign"
	"pantavisor/lib/state"
	"pantavisor/lib/storage"
)

// TestUserMetaOverridesConfig: persisted user-meta keys are loaded at
// start into the run dir and applied to the configuration at META level.
func TestUserMetaOverridesConfig(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(st.Root, "cache", "meta", "PV_LOG_LEVEL"), []byte("5"), 0o644))
	cfg := config.New()
	d, err := New(Options{Paths: config.Paths{Storage: st.Root, RunDir: filepath.Join(dir, "run")}, Config: cfg}, nil)
	require.NoError(t, err)
	_, m := d.metaStores()
	require.NoError(t, m.Load())
	assert.Equal(t, 5, cfg.Get(config.LogLevel).Int())
	assert.Equal(t, config.LevelMeta, cfg.Get(config.LogLevel).Level())
	got, err := os.ReadFile(filepath.Join(dir, "run", "user-meta", "PV_LOG_LEVEL"))
	require.NoError(t, err)
	assert.Equal(t, "5", string(got))
	require.NoError(t, m.Delete("PV_LOG_LEVEL"))
	assert.Equal(t, config.LevelDefault, cfg.Get(config.LogLevel).Level(), "deleting the key drops the override")
}

// TestHooks: system-start runs before the revision and its failure means
// a reboot (nothing starts); system-done runs once the revision is READY.
func TestHooks(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	_, err = st.Install("0", []byte(`{"#spec":"pantavisor-service-system@1"}`), nil)
	require.NoError(t, err)
	hooksDir := filepath.Join(dir, "hooks")
	require.NoError(t, os.Mkdir(hooksDir, 0o755))
	marks := filepath.Join(dir, "marks")
	require.NoError(t, os.WriteFile(filepath.Join(hooksDir, "10-mark"),
		[]byte("#!/bin/sh\necho \"$PV_OP $PV_REV $PV_STATUS\" >> "+marks+"\n"), 0o755))

	o := Options{Paths: config.Paths{Storage: st.Root, RunDir: filepath.Join(dir, "run")}, Hooks: hooksDir}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := run(t, ctx, o)
	require.NoError(t, err)
	assert.Equal(t, engine.Exit, out.Action)
	got, err := os.ReadFile(marks)
	require.NoError(t, err)
	assert.Equal(t, "system-start 0 \nsystem-done 0 READY\n", string(got))

	require.NoError(t, os.WriteFile(filepath.Join(hooksDir, "20-fail"), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	out, err = run(t, context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, engine.Reboot, out.Action)
	assert.Contains(t, out.Reason, "20-fail (system-start): exit status 1")
}

// run builds a device from o and runs it.
func run(t *testing.T, ctx context.Context, o Options) (engine.Outcome, error) {
	t.Helper()
	d, err := New(o, nil)
	require.NoError(t, err)
	return d.Run(ctx)
}

// TestFromConfig: both modes read their paths and settings from one
// resolved configuration; what differs between them is the mode's list.
func TestFromConfig(t *testing.T) {
	cfg := config.New()
	require.NoError(t, cfg.Override(config.StorageMntpoint, "/x/storage"))
	require.NoError(t, cfg.Override(config.SystemRundir, "/x/run"))
	require.NoError(t, cfg.Override(config.LogLevel, "6"))
	require.NoError(t, cfg.Override(config.LogDirMaxsize, "10%"))
	require.NoError(t, cfg.Override(config.LogTimestamp, "absolute"))
	var console strings.Builder
	for _, mode := range []Mode{Embedded, AppEngine} {
		o, err := FromConfig(cfg, mode, &console)
		require.NoError(t, err)
		assert.Equal(t, "/x/storage", o.Paths.Storage, "mode %d", mode)
		assert.Equal(t, "/x/storage/logs", o.Logs.StorageLogs, "the log dir follows the storage")
		assert.Equal(t, "/x/storage/cache/devmeta", o.Paths.DevMeta)
		assert.Equal(t, "/x/run", o.Logs.RunDir)
		assert.Equal(t, "/x/run", o.Launch.Host.RunDir)
		assert.Equal(t, "/volumes", o.Launch.Host.VolumesDir)
		assert.Equal(t, logs.Level(6), o.Logs.Level)
		assert.Equal(t, int64(10), o.Logs.DirMaxSize)
		assert.True(t, o.Logs.DirMaxPercent)
		assert.Equal(t, 4, o.Logs.HysteresisFactor)
		assert.Equal(t, 5, o.Logs.RotateFactor)
		assert.Equal(t, "absolute", o.Logs.Timestamp)
		assert.False(t, o.NoVerify, "PV_SECUREBOOT_CHECKSUM defaults on in both modes")
		assert.Same(t, cfg, o.Config)
		assert.Equal(t, mode == Embedded, o.BSP != nil, "BSP only embedded")
		assert.Equal(t, mode == Embedded, o.Hooks != "", "hooks only embedded")
		assert.Equal(t, mode == Embedded, o.KernelLog, "kernel log only embedded")
		assert.Equal(t, mode == Embedded, o.Logs.DevLog == "/dev/log", "the log server makes /dev/log only embedded")
		assert.Equal(t, mode == AppEngine, o.AppEngine)
	}
	require.NoError(t, cfg.Override(config.SecurebootChecksum, "0"))
	o, err := FromConfig(cfg, AppEngine, nil)
	require.NoError(t, err)
	assert.True(t, o.NoVerify)
	require.NoError(t, cfg.Override(config.LogDir, "logs"))
	_, err = FromConfig(cfg, Embedded, nil)
	assert.ErrorIs(t, err, config.ErrBadValue, "a relative path is refused")
}

// recorder is an Observer that keeps what it saw.
type recorder struct {
	mu       sync.Mutex
	statuses []engine.Status
	ticks    int
	exits    []engine.Outcome
}

func (r *recorder) Status(s engine.Status) {
	r.mu.Lock()
	r.statuses = append(r.statuses, s)
	r.mu.Unlock()
}
func (r *recorder) Tick() { r.mu.Lock(); r.ticks++; r.mu.Unlock() }
func (r *recorder) Exit(out engine.Outcome, err error) {
	r.mu.Lock()
	r.exits = append(r.exits, out)
	r.mu.Unlock()
}

// TestObserver: the front end sees the status changes, the loop's ticks
// and the one exit; the console gets the device's lines; a failure is
// decided by the updater and logged with its action.
func TestObserver(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
	require.NoError(t, err)
	_, err = st.Install("0", []byte(`{"#spec":"pantavisor-service-system@1"}`), nil)
	require.NoError(t, err)
	var console syncBuffer
	o := Options{Paths: config.Paths{Storage: st.Root, RunDir: filepath.Join(dir, "run")}, Console: &console,
		Engine: engine.Options{Tick: 10 * time.Millisecond}}
	rec := &recorder{}
	d, err := New(o, rec)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan engine.Outcome)
	go func() { out, _ := d.Run(ctx); done <- out }()
	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.statuses) > 0 && rec.statuses[len(rec.statuses)-1] == engine.Ready && rec.ticks > 2
	}, 5*time.Second, 10*time.Millisecond)
	_, err = New(o, nil)
	assert.ErrorIs(t, err, instance.ErrLocked, "one engine per storage")
	cancel()
	out := <-done
	assert.Equal(t, engine.Exit, out.Action)
	assert.Equal(t, []engine.Outcome{out}, rec.exits, "Exit once, with Run's outcome")
	assert.Contains(t, console.String(), "pantavisor: revision 0 status READY\n")
	b, err := os.ReadFile(filepath.Join(dir, "run", "device-meta", "pantavisor.status"))
	require.NoError(t, err)
	assert.Equal(t, "READY", string(b))

	// A corrupt object: the updater decides (no update: reboot) and the
	// device logs the decision.
	obj := []byte("object")
	sum := sha256.Sum256(obj)
	js := `{"#spec":"pantavisor-service-system@1","x/file":"` + hex.EncodeToString(sum[:]) + `"}`
	_, err = st.Install("1", []byte(js), func(state.Object) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(obj)), int64(len(obj)), nil
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(st.Root, "objects", hex.EncodeToString(sum[:])), []byte("tampered"), 0o644))
	o.Rev = "1"
	d, err = New(o, rec)
	require.NoError(t, err)
	out, err = d.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, engine.Reboot, out.Action)
	assert.Equal(t, engine.BadObjects, out.Cause)
	assert.Contains(t, console.String(), "pantavisor: reboot: ")
}

// syncBuffer is a bytes.Buffer safe for the device's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestMgmtRoles: the log server classes a sender as mgmt by the role of
// its container in the running state, which follows a swap.
func TestMgmtRoles(t *testing.T) {
	sha := strings.Repeat("a", 64)
	ctr := func(name, extra string) string {
		return `"` + name + `/lxc.container.conf":"` + sha + `","` + name + `/run.json":{"name":"` + name +
			`","type":"lxc","config":"lxc.container.conf"` + extra + `}`
	}
	parse := func(body string) *state.State {
		s, err := state.Parse([]byte(`{"#spec":"pantavisor-service-system@1",`+body+`}`), state.Options{})
		require.NoError(t, err)
		return s
	}
	d := &Device{}
	assert.False(t, d.isMgmt("os"), "nothing runs yet")
	d.running(parse(ctr("os", `,"roles":["mgmt"]`) + "," + ctr("app", `,"roles":["nobody"]`)))
	assert.True(t, d.isMgmt("os"))
	assert.False(t, d.isMgmt("app"))
	assert.False(t, d.isMgmt("nope"))
	d.running(parse(ctr("app", `,"roles":["mgmt"]`)))
	assert.False(t, d.isMgmt("os"), "gone with the swap")
	assert.True(t, d.isMgmt("app"))
	assert.Equal(t, logs.UnknownPlatform, identify("")(-1), "an unreadable pid")
	assert.Equal(t, "", identify("pvtest-none")(os.Getpid()), "the test itself is no container")
}

// TestSecureboot: in strict mode a revision whose state is unsigned, or
// signed and then changed, is not run: outside a try the device stops
// (a reboot would boot it again); a correctly signed one runs.
func TestSecureboot(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	strict := &pvs.Options{Mode: pvs.Strict, Trust: pvs.Trust{PubKey: pubkeytest.Must(key.Public())}}
	base := `{"#spec":"pantavisor-service-system@1","app/x.json":{"a":1}}`
	signed, err := sign.Add([]byte(base), "_sigs/all.json", sign.Options{Key: key, Include: []string{"**"}})
	require.NoError(t, err)
	tampered := bytes.Replace(signed, []byte(`{"a":1}`), []byte(`{"a":2}`), 1)
	require.NotEqual(t, signed, tampered)
	for _, tc := range []struct {
		name, state string
		action      engine.Action
		cause       engine.Cause
		reason      string
	}{
		{"signed", string(signed), engine.Exit, engine.NoCause, ""},
		{"unsigned", base, engine.PowerOff, engine.NotCovered, "State not fully covered by signatures: revision 0:"},
		{"tampered", string(tampered), engine.PowerOff, engine.BadSignature, "Signature validation failed: revision 0:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := storage.Open(filepath.Join(dir, "storage"), storage.Options{})
			require.NoError(t, err)
			_, err = st.Install("0", []byte(tc.state), nil)
			require.NoError(t, err)
			var console syncBuffer
			o := Options{Paths: config.Paths{Storage: st.Root, RunDir: filepath.Join(dir, "run")}, Console: &console,
				Secureboot: strict}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			out, err := run(t, ctx, o)
			require.NoError(t, err)
			assert.Equal(t, tc.action, out.Action, console.String())
			assert.Equal(t, tc.cause, out.Cause)
			assert.Contains(t, out.Reason, tc.reason)
			if tc.action == engine.PowerOff {
				assert.NotContains(t, console.String(), "status READY", "nothing of it ran")
				assert.Contains(t, console.String(), "pantavisor: poweroff: "+tc.reason)
			}
		})
	}
}
