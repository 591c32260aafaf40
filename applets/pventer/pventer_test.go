package pventer

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"pantavisor/lib/testenv"
)

func TestUsage(t *testing.T) {
	var out, errb testenv.Buffer
	assert.Equal(t, 2, Main([]string{"pventer"}, strings.NewReader(""), &out, &errb))
	assert.Equal(t, "ERROR: see --help\n", errb.String())
	var errb2 testenv.Buffer
	assert.Equal(t, 2, Main([]string{"pventer", "--bogus"}, strings.NewReader(""), &out, &errb2))
	assert.Contains(t, errb2.String(), "usage: pventer")
	assert.Equal(t, 0, Main([]string{"pventer", "--help"}, strings.NewReader(""), &out, &errb2))
	assert.Contains(t, out.String(), "Unlike upstream, pventer exits 2 when -c is missing")
	assert.Contains(t, out.String(), "-cgroup-parent")
}

func TestNoContainer(t *testing.T) {
	var out, errb testenv.Buffer
	code := Main([]string{"pventer", "--cgroup-parent", "pventer-none-" + strconv.Itoa(os.Getpid()), "-c", "ghost", "true"},
		strings.NewReader(""), &out, &errb)
	assert.Equal(t, 1, code)
	assert.Equal(t, "pventer: no container found: ghost\n", errb.String())
}
