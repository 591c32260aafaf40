package image

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/boards/qemu"
)

// ext4VerityFlag is EXT4_VERITY_FL in an inode's flags (debugfs stat).
const ext4VerityFlag = 0x100000

// TestQEMUVerityCorruptObject: the factory image's storage is made with
// -O verity and its objects (copied by mkfs -d, without fs-verity) are
// sealed at their first boot check, each with a record in /verity. Then,
// with the machine off, one byte of the first block of web's root
// squashfs is flipped on the disk. The next boot's check passes in
// constant time (it measures digests, nothing hashed); web's squashfs
// mount then reads the corrupt block, the kernel fails the read (EIO),
// and web "could not be started" with the reason in the log. The engine
// applies web's auto_recovery (cut here to one retry after 1 s) and then
// its rule for a failed container of a revision not under test (the
// factory revision has nothing to roll back to): the device reboots. A
// revision under test that fails this way is rolled back instead, as in
// TestScenarioExitingApp.
func TestQEMUVerityCorruptObject(t *testing.T) {
	o := scenarioOptions(t, "")
	o.Verity = true
	if ar, ok := o.group("app")["auto_recovery"].(map[string]any); ok {
		ar["max_retries"], ar["retry_delay"] = 1, 1
	}
	s := bootScenario(t, o, map[string]string{}, false)
	m, _ := s.expect(`verify: \d+ objects: 0 by fs-verity digest, \d+ hashed \(\d+ sealed with fs-verity now\)[^\r\n]*`,
		240*time.Second, "the first boot hashes the factory objects and seals them")
	t.Logf("first boot: %s", m)
	assert.NotContains(t, m, "(0 sealed", "fs-verity on the QEMU kernel and the storage")
	assert.NotContains(t, m, "not used")
	s.expect(`revision 0 status READY`, 240*time.Second, "the factory revision runs")
	st := s.powerOff()

	var state map[string]any
	require.NoError(t, json.Unmarshal([]byte(st.cat("/trails/0/.pvr/json")), &state))
	sha, _ := state["web/root.squashfs"].(string)
	require.Len(t, sha, 64, "web's root squashfs in the state")
	stat := st.debugfs("stat /objects/" + sha)
	flags := regexp.MustCompile(`Flags: 0x([0-9a-f]+)`).FindStringSubmatch(stat)
	require.NotNil(t, flags, "%s", stat)
	f, err := strconv.ParseUint(flags[1], 16, 64)
	require.NoError(t, err)
	assert.NotZero(t, f&ext4VerityFlag, "objects/%s has fs-verity (flags %#x)", sha, f)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}\n$`, st.cat("/verity/"+sha), "its digest is recorded")

	blk := strings.TrimSpace(st.debugfs("bmap /objects/" + sha + " 0"))
	n, err := strconv.ParseInt(blk, 10, 64)
	require.NoError(t, err, "bmap: %q", blk)
	at := s.res.Partition.Offset() + n*4096 + 40 // inside squashfs's superblock
	disk, err := os.OpenFile(s.disk, os.O_RDWR, 0)
	require.NoError(t, err)
	b := make([]byte, 1)
	_, err = disk.ReadAt(b, at)
	require.NoError(t, err)
	_, err = disk.WriteAt([]byte{b[0] ^ 0xff}, at)
	require.NoError(t, err)
	require.NoError(t, disk.Close())
	t.Logf("flipped the byte at %d (block %d of the storage partition, the first of objects/%s)", at, n, sha)

	s.bootAgain(o)
	m, _ = s.expect(`verify: \d+ objects: \d+ by fs-verity digest, 0 hashed[^\r\n]*`, 240*time.Second,
		"the check measures digests: it does not read the corrupt block")
	t.Logf("second boot: %s", m)
	m, _ = s.expect(`container web could not be started: [^\r\n]*input/output error`, 120*time.Second,
		"the squashfs mount reads the corrupt block: EIO")
	t.Logf("failure: %s", m)
	s.expect(`container web could not be started: restart 1 in 1\.0s`, 30*time.Second, "auto_recovery retries once")
	s.expect(`revision failed \(container failed\): container web exhausted its 1 retries`, 60*time.Second,
		"the retry fails too: the revision fails")
	s.expect(`Restarting system`, 60*time.Second, "a failed factory revision reboots")
	if k := regexp.MustCompile(`fs-verity[^\r\n]*(?i:corrupt)[^\r\n]*`).FindString(s.vm.Console()); k != "" {
		t.Logf("kernel: %s", k)
	}
}

// bootAgain boots the scenario's disk in a new QEMU (the previous one
// ended with powerOff), without the package disk.
func (s *scenario) bootAgain(o Options) {
	s.t.Helper()
	qo := qemu.Options{Board: o.Board, Disks: []string{s.disk}, Reboot: true, QMP: qmpPath(s.t)}
	ctx, cancel := context.WithCancel(context.Background())
	vm, err := qemu.Start(ctx, qo, filepath.Join(s.t.TempDir(), "console.log"))
	require.NoError(s.t, err)
	s.t.Cleanup(func() {
		vm.Kill()
		cancel()
		if s.t.Failed() {
			s.t.Logf("console of the second boot:\n%s", vm.Console())
		}
	})
	q, err := vm.QMP()
	require.NoError(s.t, err)
	s.vm, s.qmp, s.cursor = vm, q, 0
}

// debugfs runs one debugfs request on the storage copy.
func (s *storageImage) debugfs(request string) string {
	s.t.Helper()
	out, err := exec.Command("debugfs", "-R", request, s.path).Output()
	require.NoError(s.t, err, "debugfs -R %q", request)
	return string(out)
}
