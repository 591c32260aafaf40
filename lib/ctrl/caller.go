package ctrl

import (
	"strconv"
	"strings"

	"pantavisor/lib/connlimit"
	"pantavisor/lib/state"
)

// pvName is the caller name of Pantavisor itself and host processes.
const pvName = "_pv_"

// The split of pv-ctrl's connections (http1.DefaultMaxConns, 256) between
// callers (see connlimit): the host (_pv_) and the mgmt containers each
// have slots no other caller may take, and each other container (or a
// caller that cannot be named) holds a few connections at most. Non-mgmt
// containers together hold at most 256-32-32 = 192 connections, so
// neither a container nor several can lock the owner out; the host and
// mgmt may use the shared slots too.
const (
	hostConns      = 32 // reserved for the host
	mgmtConns      = 32 // reserved for the mgmt containers together
	containerConns = 32 // at most, of each other container
)

// classify is the connection split's class of peer pid, found at accept
// time as identify finds the caller (without logging: a flood of
// connections must not flood the log): the host, a container of role mgmt
// (by its name), or any other caller by its cgroup name ("" when the pid
// cannot be named: all such callers count as one).
func (s *Server) classify(pid int) connlimit.Peer {
	name := ""
	if s.Identify != nil {
		n, err := s.Identify(pid)
		if err != nil {
			return connlimit.Peer{Class: connlimit.Other}
		}
		name = n
	}
	if strings.HasPrefix(pvName, name) {
		return connlimit.Peer{Class: connlimit.Host}
	}
	st, _ := s.revision()
	if ct := findContainer(st, name, s.AppEngine); ct != nil {
		if ct.Mgmt {
			return connlimit.Peer{Class: connlimit.Mgmt, Name: ct.Name}
		}
		name = ct.Name
	}
	return connlimit.Peer{Class: connlimit.Other, Name: name}
}

// identify names the container that sent a request from peer pid and
// whether it is privileged (upstream ctrl_caller.c). Steps: the cgroup
// name of the pid ("" is the host, "_pv_"); a name that is a prefix of
// "_pv_" is privileged (upstream compares only strlen(name) bytes, so "",
// "_" or "_pv" count too: a quirk kept); any other name must be a
// container of the running state, retried without a trailing "-<digits>"
// in appengine mode, and is privileged with role mgmt. ok is false when
// the pid cannot be named or the container is unknown.
func (s *Server) identify(pid int) (c *Caller, ok bool) {
	name := ""
	if s.Identify != nil {
		n, err := s.Identify(pid)
		if err != nil {
			s.logf("cannot identify caller pid " + strconv.Itoa(pid) + ": " + err.Error())
			return nil, false
		}
		name = n
	}
	if strings.HasPrefix(pvName, name) {
		return &Caller{Name: pvName, Mgmt: true}, true
	}
	st, _ := s.revision()
	ct := findContainer(st, name, s.AppEngine)
	if ct == nil {
		s.logf("caller " + name + " is not a container of the running revision")
		return nil, false
	}
	return &Caller{Name: ct.Name, Mgmt: ct.Mgmt}, true
}

// findContainer looks name up in st; in appengine mode a name ending in
// "-<digits>" is retried without that suffix.
func findContainer(st *state.State, name string, appengine bool) *state.Container {
	if st == nil {
		return nil
	}
	if c := st.Container(name); c != nil || !appengine {
		return c
	}
	i := len(name)
	for i > 0 && '0' <= name[i-1] && name[i-1] <= '9' {
		i--
	}
	if i == len(name) || i == 0 || name[i-1] != '-' {
		return nil
	}
	return st.Container(name[:i-1])
}
