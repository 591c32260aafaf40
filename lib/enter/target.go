package enter

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pantavisor/lib/cgroup"
	"pantavisor/lib/printf"
	"pantavisor/lib/sentinel"
)

// ErrNoContainer: no running process belongs to the named container.
var ErrNoContainer error = &sentinel.Error{Text: "no container found"}

// IsHost reports whether name means the host (upstream: "/" and "_pv_").
func IsHost(name string) bool { return name == "/" || name == "_pv_" }

// FindInit returns the host pid of container name's init, looking at the
// procfs mounted at proc with containers' cgroups below parent:
//  1. the members are the pids whose cgroup name (cgroup.NameIn) is name;
//  2. the candidates are members whose parent is not a member (a process
//     pventer itself moved into the group is one too);
//  3. the candidate that is pid 1 of a child pid namespace (NSpid in
//     /proc/<pid>/status ends in 1) wins, else the lowest candidate.
//
// It returns ErrNoContainer when no process is in the container.
func FindInit(proc, parent, name string) (int, error) {
	pids, err := listPids(proc)
	if err != nil {
		return 0, err
	}
	m := cgroup.Manager{Proc: proc, Parent: parent}
	members := map[int]bool{}
	for _, pid := range pids {
		if n, err := m.NameOf(pid); err == nil && n == name {
			members[pid] = true // a process gone meanwhile is skipped
		}
	}
	var cands []int
	for _, pid := range pids {
		if !members[pid] {
			continue
		}
		if ppid, err := ppidOf(proc, pid); err == nil && !members[ppid] {
			cands = append(cands, pid)
		}
	}
	if len(cands) == 0 {
		return 0, printf.Errorf("%w: %s", ErrNoContainer, name)
	}
	for _, pid := range cands {
		if isNsInit(proc, pid) {
			return pid, nil
		}
	}
	return cands[0], nil
}

// listPids returns the numeric entries of proc, sorted.
func listPids(proc string) ([]int, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil, printf.Errorf("list processes in %s: %w", proc, err)
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// ppidOf reads the parent pid from <proc>/<pid>/stat.
func ppidOf(proc string, pid int) (int, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatPpid(string(b))
}

// parseStatPpid returns field 4 of a /proc/<pid>/stat text. The command
// name (field 2) is in parentheses and may hold spaces and parentheses, so
// the fields are counted from the last ')'.
func parseStatPpid(s string) (int, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, printf.Errorf("stat %q: no command name", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, printf.Errorf("stat %q: no parent pid", s)
	}
	return strconv.Atoi(f[1])
}

// isNsInit reports whether pid is pid 1 of a pid namespace below the
// reader's (Linux 4.1+ lists NSpid in /proc/<pid>/status).
func isNsInit(proc string, pid int) bool {
	f, err := os.Open(filepath.Join(proc, strconv.Itoa(pid), "status"))
	if err != nil {
		return false
	}
	defer f.Close()
	ns := parseNSpid(f)
	return len(ns) > 1 && ns[len(ns)-1] == "1"
}

// parseNSpid returns the values of the NSpid line of a status text.
func parseNSpid(r io.Reader) []string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "NSpid:"); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

// account is the part of a passwd entry pventer uses.
type account struct{ Home, Shell string }

// parsePasswd finds user in a passwd text ("name:pw:uid:gid:gecos:home:shell").
func parsePasswd(r io.Reader, user string) (account, bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 7 && f[0] == user {
			return account{Home: f[5], Shell: f[6]}, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return account{}, false, printf.Errorf("read passwd: %w", err)
	}
	return account{}, false, nil
}

// readPasswd reads user from the passwd file at path. A missing file or
// user is not an error: ok is false.
func readPasswd(path, user string) (account, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, err
	}
	defer f.Close()
	return parsePasswd(f, user)
}

// parseEnviron splits a /proc/<pid>/environ text (NUL-terminated
// KEY=VALUE strings); entries without '=' are dropped.
func parseEnviron(b []byte) []string {
	var env []string
	for _, e := range bytes.Split(b, []byte{0}) {
		if bytes.IndexByte(e, '=') > 0 {
			env = append(env, string(e))
		}
	}
	return env
}

// defaultPath is PATH when the init's environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// setEnv returns env with key set to value, replacing earlier values.
func setEnv(env []string, key, value string) []string {
	env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, key+"=") })
	return append(env, key+"="+value)
}

// commandEnv is the command's environment: the init's, PATH defaulted,
// USER/HOME/SHELL from the account and TERM from ours (when set).
func commandEnv(initEnv []string, user string, acc account, term string) []string {
	env := slices.Clone(initEnv)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append(env, "PATH="+defaultPath)
	}
	env = setEnv(env, "USER", user)
	env = setEnv(env, "HOME", acc.Home)
	env = setEnv(env, "SHELL", acc.Shell)
	if term != "" {
		env = setEnv(env, "TERM", term)
	}
	return env
}
