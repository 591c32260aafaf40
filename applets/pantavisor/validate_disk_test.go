package pantavisor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/lib/state"
)

// TestValidateConformanceDisks: for every conformance state, validate
// prints one disk line per device.json disk, and says which the
// qemu-x86_64 board (no NXP key hardware) would refuse and why: the dcp
// disks of pvtx/resources are refused for the missing key hardware, then,
// with --key-hardware dcp, as not supported; versatile and zram swap
// disks would be set up.
func TestValidateConformanceDisks(t *testing.T) {
	files, err := filepath.Glob(conformance + "pvtx/*/*.json")
	require.NoError(t, err)
	seen := map[string]int{}
	for _, f := range append(files, conformance+"state.rev0.json") {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		st, err := state.Read(bytes.NewReader(data), state.Options{})
		require.NoError(t, err, f)
		for _, hw := range []string{"none", "dcp"} {
			code, out, errs := validateRun("--key-hardware", hw, f)
			require.Equal(t, 0, code, "%s: %s", f, errs)
			for _, d := range st.Device.Disks {
				line := diskLine(out, d.Name)
				require.NotEmpty(t, line, "%s: a line for disk %s:\n%s", f, d.Name, out)
				assert.Contains(t, line, "type="+d.Type+" ", f)
				seen[d.Type+" "+hw]++
				switch {
				case d.Type == "dm-crypt-dcp" && hw == "none":
					assert.Contains(t, line, `setup=refused reason="disk \"`+d.Name+`\": dm-crypt-dcp needs NXP DCP key hardware, which this board does not have"`, f)
				case d.Type == "dm-crypt-dcp":
					assert.Contains(t, line, `with NXP DCP keys: not supported by this pantavisor"`, f)
				default:
					assert.True(t, strings.HasSuffix(line, " setup=ok"), "%s: %s", f, line)
				}
			}
		}
	}
	for _, k := range []string{"dm-crypt-dcp none", "dm-crypt-dcp dcp", "dm-crypt-versatile none", "swap-disk none"} {
		assert.NotZero(t, seen[k], "the conformance states have a %s disk", k)
	}
}

// TestValidateDiskLines: volumes on a disk by name, alias and default,
// a volume on a swap disk, a warning, and a bad --key-hardware (a volume
// naming a missing disk is refused by the state parser).
func TestValidateDiskLines(t *testing.T) {
	f := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(f, []byte(`{"#spec": "pantavisor-service-system@1",
 "device.json": {"groups": [{"name": "app"}], "disks": [
   {"name": "sec", "type": "dm-crypt-versatile", "path": "/storage/c/v.img,2,k", "aliases": ["s"]},
   {"name": "main", "type": "volume-disk", "default": "yes"},
   {"name": "sw", "type": "swap-disk", "provision": "zram", "provision_options": "disksize=8M", "format_options": "-L x"},
   {"name": "caam", "type": "dm-crypt-caam"}],
  "volumes": {"pv--usrmeta": {"disk": "s", "persistence": "permanent"}}},
 "app/lxc.conf": "0000000000000000000000000000000000000000000000000000000000000000",
 "app/r.squashfs": "0000000000000000000000000000000000000000000000000000000000000000",
 "app/run.json": {"#spec": "service-manifest-run@1", "name": "app", "type": "lxc", "config": "lxc.conf", "root-volume": "r.squashfs",
  "storage": {"a": {"persistence": "permanent", "disk": "sec"}, "b": {"persistence": "boot"},
              "d": {"persistence": "boot", "disk": "sw"}}}}`), 0o644))
	code, out, errs := validateRun("--key-hardware", "caam", f)
	require.Equal(t, 0, code, errs)
	assert.Equal(t, `disk sec: type=dm-crypt-versatile provision=- volumes=bsp/pv--usrmeta,app/a setup=ok
disk main: type=volume-disk provision=- volumes=app/b setup=ok
disk sw: type=swap-disk provision=zram volumes=app/d setup=refused reason="disk \"sw\": bad disk definition: a swap-disk holds no volumes"
disk sw: warning: format_options "-L x" ignored: the swap header is written without mkswap
disk caam: type=dm-crypt-caam provision=- volumes=none setup=refused reason="disk \"caam\": dm-crypt-caam (mode \"\") with NXP CAAM keys: not supported by this pantavisor"
`, out[strings.Index(out, "disk "):])
	code, _, errs = validateRun("--key-hardware", "tpm", f)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, `--key-hardware: unknown key hardware "tpm"`)
}

// diskLine is the "disk NAME:" line of out that is not a warning.
func diskLine(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "disk "+name+": type=") {
			return l
		}
	}
	return ""
}
