package enter

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeProc writes a procfs tree: per pid its cgroup text, parent pid and
// NSpid line ("" = no status file).
type fakeProc struct {
	cgroup string
	ppid   int
	nspid  string
}

func writeProc(t *testing.T, procs map[int]fakeProc) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		d := filepath.Join(root, strconv.Itoa(pid))
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "cgroup"), []byte(p.cgroup), 0o644))
		stat := strconv.Itoa(pid) + " (a (b) c) S " + strconv.Itoa(p.ppid) + " 1 1 0 -1\n"
		require.NoError(t, os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644))
		if p.nspid != "" {
			st := "Name:\tsh\nPid:\t" + strconv.Itoa(pid) + "\nNSpid:\t" + p.nspid + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(d, "status"), []byte(st), 0o644))
		}
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "self"), 0o755)) // not a pid
	return root
}

// hybrid is a /proc/<pid>/cgroup text of a process in group g of parent
// "pantavisor" ("" = the root: a host process).
func hybrid(g string) string {
	p := "/"
	if g != "" {
		p = "/pantavisor/" + g
	}
	return "5:pids:" + p + "\n4:memory:" + p + "\n1:name=systemd:/init.scope\n0::" + p + "\n"
}

func TestFindInit(t *testing.T) {
	procs := map[int]fakeProc{
		1:   {cgroup: hybrid(""), ppid: 0, nspid: "1"},
		40:  {cgroup: hybrid(""), ppid: 1, nspid: "40"},   // pv-container
		41:  {cgroup: hybrid("web"), ppid: 40},            // web's init, no status file (old kernel)
		42:  {cgroup: hybrid("web"), ppid: 41},            // a child of it
		50:  {cgroup: hybrid(""), ppid: 1},                // pv-container of db
		60:  {cgroup: hybrid("db"), ppid: 1, nspid: "60"}, // a pventer moved into db, parent outside
		70:  {cgroup: hybrid("db"), ppid: 60, nspid: "70 5"},
		90:  {cgroup: hybrid("db"), ppid: 50, nspid: "90 1"}, // db's init: pid 1 of its namespace
		91:  {cgroup: hybrid("db"), ppid: 90, nspid: "91 2"},
		100: {cgroup: "garbage", ppid: 1},
	}
	proc := writeProc(t, procs)
	pid, err := FindInit(proc, "pantavisor", "web")
	require.NoError(t, err)
	assert.Equal(t, 41, pid, "the member whose parent is outside the container")
	pid, err = FindInit(proc, "pantavisor", "db")
	require.NoError(t, err)
	assert.Equal(t, 90, pid, "pid 1 of a pid namespace beats a lower pventer in the group")

	_, err = FindInit(proc, "pantavisor", "nope")
	assert.ErrorIs(t, err, ErrNoContainer)
	assert.EqualError(t, err, "no container found: nope")
	_, err = FindInit(proc, "lxc", "web")
	assert.ErrorIs(t, err, ErrNoContainer, "another parent: no such group")
	_, err = FindInit(filepath.Join(proc, "missing"), "pantavisor", "web")
	assert.Error(t, err)
}

func TestParseStatPpid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  bool
	}{
		{"1 (init) S 0 1 1", 0, false},
		{"42 (sh) R 7 42 42 0", 7, false},
		{"42 (a) b) (c) S 9 42", 9, false},
		{"42 (x y) S", 0, true},
		{"42 sh S 9", 0, true},
		{"42 (sh) S x", 0, true},
	} {
		got, err := parseStatPpid(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		assert.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseNSpid(t *testing.T) {
	assert.Equal(t, []string{"90", "1"}, parseNSpid(strings.NewReader("Name:\tsh\nNSpid:\t90\t1\nNSpgid:\t90\t1\n")))
	assert.Nil(t, parseNSpid(strings.NewReader("Name:\tsh\n")))
}

const passwd = `root:x:0:0:root:/root:/bin/ash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# comment
short:x:2
app:x:1000:1000:App User,,,:/home/app:/bin/sh
nohome:x:1001:1001::::
`

func TestParsePasswd(t *testing.T) {
	for _, tc := range []struct {
		user string
		want account
		ok   bool
	}{
		{"root", account{"/root", "/bin/ash"}, true},
		{"app", account{"/home/app", "/bin/sh"}, true},
		{"nohome", account{"", ""}, true},
		{"short", account{}, false},
		{"ro", account{}, false},
		{"", account{}, false},
	} {
		got, ok, err := parsePasswd(strings.NewReader(passwd), tc.user)
		require.NoError(t, err)
		assert.Equal(t, tc.ok, ok, tc.user)
		assert.Equal(t, tc.want, got, tc.user)
	}
	_, ok, err := readPasswd(filepath.Join(t.TempDir(), "none"), "root")
	assert.NoError(t, err, "a container without /etc/passwd falls back")
	assert.False(t, ok)
}

func TestEnviron(t *testing.T) {
	env := parseEnviron([]byte("A=1\x00noeq\x00=x\x00USER=init\x00HOME=/\x00B=\x00"))
	assert.Equal(t, []string{"A=1", "USER=init", "HOME=/", "B="}, env)
	got := commandEnv(env, "app", account{"/home/app", "/bin/sh"}, "xterm")
	assert.Equal(t, []string{"A=1", "B=", "PATH=" + defaultPath, "USER=app", "HOME=/home/app", "SHELL=/bin/sh", "TERM=xterm"}, got)
	got = commandEnv([]string{"PATH=/bin", "TERM=linux"}, "root", account{"/", "/bin/sh"}, "")
	assert.Equal(t, []string{"PATH=/bin", "TERM=linux", "USER=root", "HOME=/", "SHELL=/bin/sh"}, got,
		"the init's PATH is kept; without our TERM the init's stays")
}

func TestNamespaceTable(t *testing.T) {
	want := map[string]string{"cgroup": "CGROUP", "ipc": "IPC", "uts": "UTS", "net": "NET", "pid": "PID", "mnt": "NS"}
	seen := map[int]bool{}
	for _, ns := range namespaces {
		assert.Equal(t, want[ns.name], flagName(ns.flag), ns.name)
		assert.False(t, seen[ns.flag], "%s listed twice", ns.name)
		seen[ns.flag] = true
		_, err := os.Stat("/proc/self/ns/" + ns.name)
		assert.NoError(t, err, "%s is a /proc/<pid>/ns name", ns.name)
	}
	assert.Len(t, namespaces, len(want))
	assert.Equal(t, "mnt", namespaces[len(namespaces)-1].name, "the mount namespace is joined last")
	assert.Equal(t, "16", flagName(16), "unknown flags print as numbers")
}
