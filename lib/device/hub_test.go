//go:build !nohub

package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/buildinfo"
	"pantavisor/lib/config"
	"pantavisor/lib/hub"
	"pantavisor/lib/hub/hubhttp"
)

// TestHubOptions: every hub key of the configuration reaches the hub
// client's options, the credentials file loaded as PH_CONF below them.
func TestHubOptions(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "config"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, CredsFile),
		[]byte("creds.host=hub.example\ncreds.port=8443\ncreds.id=abc\nnot a pair\n"), 0o600))
	cfg := config.New()
	require.NoError(t, cfg.Override(config.StorageMntpoint, dir))
	require.NoError(t, cfg.Override(config.SystemRundir, "/x/run"))
	for k, v := range map[config.Key]string{
		config.PHCredsPort: "9443", config.PHCredsInsecure: "1", config.LibthttpCertsdir: "/x/certs",
		config.PHCredsProxyHost: "proxy", config.PHCredsProxyPort: "3128", config.PHCredsProxyNoproxyconnect: "1",
		config.PHLibeventHTTPTimeout: "7", config.PHFactoryAutotok: "tok", config.PHUpdaterInterval: "2",
		config.PHMetadataDevmetaInterval: "3", config.PHMetadataUsrmetaInterval: "4",
		config.PHUpdaterTransferMaxCount: "6", config.RevisionRetries: "8", config.PHOnlineRequestThreshold: "9",
	} {
		require.NoError(t, cfg.Set(config.LevelEnv, k.Name(), v))
	}
	var console strings.Builder
	o, err := FromConfig(cfg, AppEngine, &console)
	require.NoError(t, err)
	require.NotNil(t, o.Hub)
	h := *o.Hub
	assert.Equal(t, hubhttp.Client{Host: "hub.example", Port: 9443, CAFile: "/x/certs", Insecure: true,
		ProxyHost: "proxy", ProxyPort: 3128, NoProxyConnect: true, Timeout: 7 * time.Second,
		UserAgent: h.Client.UserAgent}, h.Client, "creds.host from pantahub.config, the rest from the environment")
	assert.Contains(t, h.Client.UserAgent, "PV/"+buildinfo.Version)
	assert.Equal(t, hub.Options{Client: h.Client, AutoToken: "tok", CredsFile: filepath.Join(dir, "config", "pantahub.config"),
		PVDir: "/x/run", UpdaterInterval: 2 * time.Second, DevMetaInterval: 3 * time.Second, UserMetaInterval: 4 * time.Second,
		TransferMax: 6, Retries: 8, OnlineThreshold: 9}, h)
	assert.Equal(t, "abc", cfg.Get(config.PHCredsID).String())
	assert.Contains(t, console.String(), "pantavisor: config: ph conf file line 4", "a bad line is a warning")

	o, err = FromConfig(config.New(), Embedded, nil)
	require.NoError(t, err)
	assert.Equal(t, "api.pantahub.com", o.Hub.Client.Host, "upstream's defaults")
	assert.Equal(t, 443, o.Hub.Client.Port)
	assert.Equal(t, "/certs", o.Hub.Client.CAFile)
	assert.False(t, o.Hub.Client.Insecure, "verification on by default")
}

// TestHubHealthFollows: only a hub step (a revision number above 0) in
// remote mode depends on the hub; before the client starts the link is
// unreachable and has missed nothing.
func TestHubHealthFollows(t *testing.T) {
	d := &Device{}
	h := hubHealth{d}
	for _, tc := range []struct {
		rev    string
		remote bool
		want   bool
	}{
		{"1", true, true}, {"42", true, true}, {"1", false, false}, {"0", true, false},
		{"locals/x", true, false}, {"locals/1", true, false}, {"01", true, false}, {"-1", true, false},
		{"+1", true, false}, {"", true, false},
	} {
		d.remote.on.Store(tc.remote)
		assert.Equal(t, tc.want, h.Follows(tc.rev), "%q remote %t", tc.rev, tc.remote)
	}
	assert.False(t, h.Reachable())
	assert.Zero(t, h.Missed())
}
