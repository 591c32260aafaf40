package modprobe

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelCall: the kernel's request_module runs "modprobe -q -- ALIAS";
// an alias no module provides fails with exit 1 and, with -q, no message.
func TestKernelCall(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte("kernel/net/bridge/bridge.ko:\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.alias"), []byte("alias rtnl-link-bridge bridge\n"), 0o644))
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"modprobe", "-d", dir, "-q", "--", "rtnl-link-veth"}, 1, ""},
		{[]string{"modprobe", "-d", dir, "--", "rtnl-link-veth"}, 1, "modprobe: module rtnl-link-veth: module not found\n"},
		{[]string{"modprobe", "-q"}, 2, "usage: modprobe [-q] [-d DIR] [--] MODULE|ALIAS [PARAM=VALUE...]\n"},
	} {
		var out, errb bytes.Buffer
		assert.Equal(t, tc.code, Main(tc.args, nil, &out, &errb), tc.args)
		if tc.stderr == "" {
			assert.Empty(t, errb.String(), tc.args)
		} else {
			assert.Contains(t, errb.String(), tc.stderr[:len(tc.stderr)-1], tc.args)
		}
	}
}
