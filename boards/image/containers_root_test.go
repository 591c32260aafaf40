package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/testenv"
)

// TestUdhcpcScript runs the os container's udhcpc event script with
// busybox ip in a new network namespace on a veth pair, as udhcpc would:
// bound sets the address and the default route, renew replaces them,
// deconfig removes them.
func TestUdhcpcScript(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "unshare", "util-linux")
	_, err := os.Stat("/bin/busybox")
	testenv.Require(t, err == nil, "needs /bin/busybox (make deps installs busybox-static)")
	var script string
	for _, f := range Containers()[0].RootfsFiles() {
		if f.Path == "usr/share/udhcpc/default.script" {
			script = f.Data
		}
	}
	require.NotEmpty(t, script)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "default.script"), []byte(script), 0o755))
	require.NoError(t, os.Symlink("/bin/busybox", filepath.Join(dir, "ip")))
	require.NoError(t, os.Symlink("/bin/busybox", filepath.Join(dir, "sh")))

	sh := `ip link add eth0 type veth peer name eth1 || exit 99
echo "== bound"; interface=eth0 ip=10.0.2.15 mask=24 router=10.0.2.2 sh default.script bound
ip -4 addr show eth0; ip -4 route
echo "== renew"; interface=eth0 ip=10.0.2.16 mask=24 router=10.0.2.2 sh default.script renew
ip -4 addr show eth0; ip -4 route
echo "== deconfig"; interface=eth0 sh default.script deconfig
ip -4 addr show eth0; ip -4 route
`
	cmd := exec.Command("unshare", "-n", "/bin/busybox", "sh", "-c", sh)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + dir}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 99 {
		testenv.RequireKernelFeature(t, false, "veth interfaces ("+string(out)+")", "the QEMU boots")
	}
	require.NoError(t, err, "%s", out)
	parts := strings.Split(string(out), "== ")
	require.Len(t, parts, 4, "%s", out)
	bound, renew, deconfig := parts[1], parts[2], parts[3]
	assert.Contains(t, bound, "udhcpc: eth0 10.0.2.15/24 router 10.0.2.2\n")
	assert.Contains(t, bound, "inet 10.0.2.15/24 scope global eth0")
	assert.Contains(t, bound, "default via 10.0.2.2 dev eth0")
	assert.Contains(t, renew, "inet 10.0.2.16/24 scope global eth0")
	assert.NotContains(t, renew, "10.0.2.15")
	assert.Contains(t, renew, "default via 10.0.2.2 dev eth0")
	assert.NotContains(t, deconfig, "inet ")
	assert.NotContains(t, deconfig, "default")
}
