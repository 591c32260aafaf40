package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNohubLinksNoNetip lists the packages of the nohub device binary
// (go list -deps -tags nohub, static as the Makefile builds it): net/netip,
// and with it unique, must not be among them. The container network code
// uses lib/ip4 instead; netip costs about 21 KB xz and does work at init
// (unique.Make in its package variables). weak is not checked: netip
// brought it too, but crypto/ecdsa (signatures) links it through
// crypto/internal/fips140cache. The full build gets netip through net (the
// hub client) anyway, so only nohub is checked.
func TestNohubLinksNoNetip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	cmd := exec.Command("go", "list", "-deps", "-tags", "nohub", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "pantavisor/lib/netpool", "go list printed no usable list:\n%s", out)
	for _, pkg := range []string{"net/netip", "unique"} {
		assert.NotContains(t, deps, pkg, "the nohub device binary links %s", pkg)
	}
}
