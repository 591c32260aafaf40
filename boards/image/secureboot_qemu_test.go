package image

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards/qemu"
)

// tamper changes one covered value of a signed state (device.json's first
// group timeout, 30 -> 31): the state still parses and validates, only its
// signature no longer matches.
func tamper(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	out := bytes.Replace(data, []byte(`"timeout": 30`), []byte(`"timeout": 31`), 1)
	require.NotEqual(t, string(data), string(out), "%s has a group timeout of 30", path)
	require.NoError(t, os.WriteFile(path, out, 0o644))
}

// tamperedPackage writes out, the signed update package of change with
// tamper applied to its state after signing.
func tamperedPackage(t *testing.T, base Options, change Change, out string) {
	t.Helper()
	signed := filepath.Join(t.TempDir(), "signed.tgz")
	require.NoError(t, BuildUpdatePackage(context.Background(), base, change, signed))
	dir := t.TempDir()
	tar, err := exec.Command("tar", "-xzf", signed, "-C", dir).CombinedOutput()
	require.NoError(t, err, "%s", tar)
	tamper(t, filepath.Join(dir, "json"))
	require.NoError(t, WritePackageTgz(dir, out))
}

// TestQEMUSecurebootLocalUpdates: the board boots strict with revision 0
// signed by the project's development key (the log says so); mgmt then
// uploads three packages with `pv-ctl steps install`: an unsigned one and
// a tampered one are refused with 422 "Secureboot: <reason>" and nothing
// is stored, the running revision untouched; the signed one is accepted,
// run, and ends UPDATED with the new web.
func TestQEMUSecurebootLocalUpdates(t *testing.T) {
	o := scenarioOptions(t, "")
	require.NotEmpty(t, o.Signing, "the board signs its revisions")
	InstallAtBoot("signed.tgz", "signed", true)(&o) // runs last: each InstallAtBoot goes first
	InstallAtBoot("tampered.tgz", "tampered", false)(&o)
	InstallAtBoot("unsigned.tgz", "unsigned", false)(&o)
	ctx := context.Background()
	dir := t.TempDir()
	pkgs := map[string]string{}
	for _, name := range []string{"signed", "tampered", "unsigned"} {
		pkgs[name+".tgz"] = filepath.Join(dir, name+".tgz")
	}
	require.NoError(t, BuildUpdatePackage(ctx, o, AppOnlyChange("2"), pkgs["signed.tgz"]))
	tamperedPackage(t, o, AppOnlyChange("3"), pkgs["tampered.tgz"])
	unsigned := o
	unsigned.Signing = ""
	require.NoError(t, BuildUpdatePackage(ctx, unsigned, AppOnlyChange("4"), pkgs["unsigned.tgz"]))

	s := bootScenario(t, o, pkgs, false)
	s.expect(q("secureboot strict: revision 0: 1 signatures ok"), 120*time.Second, "revision 0 verifies at boot")
	from := s.cursor
	for _, name := range []string{"unsigned", "tampered"} {
		m, _ := s.seen(from, q(InstallLine(name))+`\d+`, 240*time.Second, "mgmt installs "+name)
		assert.NotEqual(t, InstallLine(name)+"0", m, "pv-ctl steps install of the %s package fails", name)
	}
	s.seen(from, `mgmt: install failed: [^\r\n]*Secureboot: State not fully covered by signatures`, 60*time.Second,
		"the unsigned state covers nothing: 422 with upstream's reason")
	s.seen(from, `mgmt: install failed: [^\r\n]*Secureboot: Signature validation failed`, 60*time.Second,
		"the tampered state's signature does not match: 422 with upstream's reason")
	m, _ := s.seen(from, q(InstallLine("signed"))+`\d+`, 240*time.Second, "mgmt installs the signed package")
	assert.Equal(t, InstallLine("signed")+"0", m, "the signed package is accepted")
	s.seen(from, q(RunLine("signed"))+"0", 60*time.Second, "and run")
	s.expect(statusRE("locals/signed", "UPDATED"), 180*time.Second, "the signed revision commits")
	s.seen(from, q(VersionLine("web", "2")), 60*time.Second, "the signed web runs")
	c := s.vm.Console()
	for _, v := range []string{"3", "4"} {
		assert.NotContains(t, c, VersionLine("web", v), "a refused package never runs")
	}
	assert.NotRegexp(t, `updater: revision locals/(unsigned|tampered)`, c, "refused steps are not stored, so never updated")
}

// TestQEMUSecurebootRefusesTamperedFactory: revision 0 tampered on the
// storage after signing is not run in strict mode: no container starts,
// the console names the reason, and the device powers off (a committed
// revision that no longer verifies would fail again on every boot).
func TestQEMUSecurebootRefusesTamperedFactory(t *testing.T) {
	o := qemuImageOptions(t)
	o.Append = ConsoleLogs
	ctx := context.Background()
	storage := filepath.Join(t.TempDir(), "storage")
	_, err := BuildStorage(ctx, o, storage)
	require.NoError(t, err)
	tamper(t, filepath.Join(storage, "trails", "0", ".pvr", "json"))
	disk := filepath.Join(t.TempDir(), "disk.img")
	_, err = WriteDisk(ctx, o, storage, disk)
	require.NoError(t, err)
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	vm, err := qemu.Start(qctx, qemu.Options{Board: o.Board, Disks: []string{disk}}, filepath.Join(t.TempDir(), "console.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		vm.Kill()
		if t.Failed() {
			t.Logf("console:\n%s", vm.Console())
		}
	})
	_, err = vm.Expect(regexp.MustCompile(`secureboot: _sigs/pvgo-dev\.json: [^\r\n]*`), 120*time.Second)
	require.NoError(t, err, "the signature is checked and its failure logged")
	_, err = vm.Expect(regexp.MustCompile(`Signature validation failed: revision 0`), 30*time.Second)
	require.NoError(t, err, "the reason is on the console")
	_, err = vm.Expect(powerOffRE, 60*time.Second)
	require.NoError(t, err, "the device stops")
	assert.NoError(t, vm.Wait(30*time.Second))
	assert.NotRegexp(t, `(os|mgmt|web): `, vm.Console(), "no container ran")
}
