package container

import (
	"errors"
	"syscall"

	"pantavisor/lib/lxcconf"
	"pantavisor/lib/printf"
)

// ErrIDMap is an lxc.idmap the launcher cannot run a user namespace with.
var ErrIDMap = errors.New("lxc.idmap")

// setIDMaps splits lxc.idmap into the uid and gid maps of the container's
// user namespace. Without any map the namespace is refused as before (LXC
// cannot run it either); the maps must map the namespace's root (the
// stage runs as it) and the init's uid and gid.
func (p *Plan) setIDMaps(maps []lxcconf.IDMap) error {
	if len(maps) == 0 {
		return printf.Errorf("user namespace: %w (keep it with lxc.namespace.keep = user, or map ids with lxc.idmap)", ErrUnsupported)
	}
	for _, m := range maps {
		sm := syscall.SysProcIDMap{ContainerID: int(m.NSID), HostID: int(m.HostID), Size: int(m.Range)}
		if m.Kind == 'u' {
			p.UIDMappings = append(p.UIDMappings, sm)
		} else {
			p.GIDMappings = append(p.GIDMappings, sm)
		}
	}
	for _, need := range []struct {
		kind string
		maps []syscall.SysProcIDMap
		ids  []int
	}{{"uid", p.UIDMappings, []int{0, p.Spec.UID}}, {"gid", p.GIDMappings, []int{0, p.Spec.GID}}} {
		for _, id := range need.ids {
			if _, ok := toHost(need.maps, id); !ok || len(need.maps) == 0 {
				return printf.Errorf("%w: %s %d of the container is not mapped (root and the init's ids must be)", ErrIDMap, need.kind, id)
			}
		}
	}
	return nil
}

// HostRoot returns the host uid and gid of the container's root: 0, 0
// without a user namespace. The launcher gives the container's writable
// layers and storage volumes to them.
func (p *Plan) HostRoot() (uid, gid int) {
	uid, _ = toHost(p.UIDMappings, 0)
	gid, _ = toHost(p.GIDMappings, 0)
	return uid, gid
}

// toHost maps a namespace id to the host through maps; no maps is the
// identity.
func toHost(maps []syscall.SysProcIDMap, id int) (int, bool) {
	if len(maps) == 0 {
		return id, true
	}
	for _, m := range maps {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return m.HostID + id - m.ContainerID, true
		}
	}
	return 0, false
}
