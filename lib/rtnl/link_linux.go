package rtnl

import (
	"encoding/binary"
	"errors"
	"syscall"

	"golang.org/x/sys/unix"

	"pantavisor/lib/printf"
)

// ErrNotBridge: EnsureBridge found a link of that name that is no bridge.
var ErrNotBridge = errors.New("not a bridge")

// Link is one network interface as the kernel lists it.
type Link struct {
	Index  int
	Name   string
	Kind   string // IFLA_INFO_KIND: "bridge", "veth", "macvlan"; "" for plain devices
	MAC    []byte // hardware address; nil for none
	Flags  uint32 // IFF_* (unix.IFF_UP, …)
	Master int    // index of the bridge it is enslaved to; 0 = none
}

// Up reports whether the link is administratively up.
func (l Link) Up() bool { return l.Flags&unix.IFF_UP != 0 }

// LinkByName returns the link called name. A missing link is an error
// that errors.Is matches with unix.ENODEV.
func (c *Conn) LinkByName(name string) (Link, error) {
	var w builder
	w.ifinfomsg(0, 0, 0)
	w.str(unix.IFLA_IFNAME, name)
	msgs, err := c.request("looking up link "+name, unix.RTM_GETLINK, 0, w.b)
	if err != nil {
		return Link{}, err
	}
	for _, m := range msgs {
		if m.Type == unix.RTM_NEWLINK {
			return parseLink(m.Data)
		}
	}
	return Link{}, printf.Errorf("rtnl: looking up link %s: %w", name, syscall.ENODEV)
}

// Links lists every link of the namespace, in index order.
func (c *Conn) Links() ([]Link, error) {
	var w builder
	w.ifinfomsg(0, 0, 0)
	msgs, err := c.request("listing links", unix.RTM_GETLINK, unix.NLM_F_DUMP, w.b)
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, m := range msgs {
		if m.Type != unix.RTM_NEWLINK {
			continue
		}
		l, err := parseLink(m.Data)
		if err != nil {
			return nil, printf.Errorf("rtnl: listing links: %w", err)
		}
		out = append(out, l)
	}
	return out, nil
}

// parseLink reads an RTM_NEWLINK payload: ifinfomsg and attributes.
func parseLink(b []byte) (Link, error) {
	if len(b) < unix.SizeofIfInfomsg {
		return Link{}, ErrTruncated
	}
	l := Link{Index: int(int32(binary.NativeEndian.Uint32(b[4:8]))), Flags: binary.NativeEndian.Uint32(b[8:12])}
	for _, a := range parseAttrs(b[unix.SizeofIfInfomsg:]) {
		switch a.Type {
		case unix.IFLA_IFNAME:
			l.Name = cString(a.Value)
		case unix.IFLA_ADDRESS:
			l.MAC = append([]byte(nil), a.Value...)
		case unix.IFLA_MASTER:
			if len(a.Value) >= 4 {
				l.Master = int(binary.NativeEndian.Uint32(a.Value))
			}
		case unix.IFLA_LINKINFO:
			for _, in := range parseAttrs(a.Value) {
				if in.Type == unix.IFLA_INFO_KIND {
					l.Kind = cString(in.Value)
				}
			}
		}
	}
	return l, nil
}

// change sends an RTM_NEWLINK for an existing link (ifi_index set) with
// the attributes add writes, and waits for the ack.
func (c *Conn) change(op string, l Link, flags, mask uint32, add func(*builder)) error {
	var w builder
	w.ifinfomsg(l.Index, flags, mask)
	if add != nil {
		add(&w)
	}
	_, err := c.request(op, unix.RTM_NEWLINK, unix.NLM_F_ACK, w.b)
	return err
}

// SetUp brings l up (ip link set up).
func (c *Conn) SetUp(l Link) error {
	return c.change("setting "+l.Name+" up", l, unix.IFF_UP, unix.IFF_UP, nil)
}

// SetDown brings l down (a rename needs it down).
func (c *Conn) SetDown(l Link) error {
	return c.change("setting "+l.Name+" down", l, 0, unix.IFF_UP, nil)
}

// SetMaster enslaves l to bridge (ip link set l master bridge).
func (c *Conn) SetMaster(l, bridge Link) error {
	return c.change("adding "+l.Name+" to bridge "+bridge.Name, l, 0, 0, func(w *builder) {
		w.u32(unix.IFLA_MASTER, uint32(bridge.Index))
	})
}

// SetHWAddr sets l's hardware (MAC) address.
func (c *Conn) SetHWAddr(l Link, mac []byte) error {
	return c.change("setting the address of "+l.Name+" to "+FormatMAC(mac), l, 0, 0, func(w *builder) {
		w.attr(unix.IFLA_ADDRESS, mac)
	})
}

// Rename renames l to name; the kernel refuses it (EBUSY) while l is up.
func (c *Conn) Rename(l Link, name string) error {
	return c.change("renaming "+l.Name+" to "+name, l, 0, 0, func(w *builder) {
		w.str(unix.IFLA_IFNAME, name)
	})
}

// DelLink deletes l; deleting one end of a veth pair deletes both.
func (c *Conn) DelLink(l Link) error {
	var w builder
	w.ifinfomsg(l.Index, 0, 0)
	_, err := c.request("deleting link "+l.Name, unix.RTM_DELLINK, unix.NLM_F_ACK, w.b)
	return err
}

// create sends an RTM_NEWLINK that must create a new link (NLM_F_EXCL:
// an existing name is EEXIST).
func (c *Conn) create(op string, add func(*builder)) error {
	var w builder
	w.ifinfomsg(0, 0, 0)
	add(&w)
	_, err := c.request(op, unix.RTM_NEWLINK, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, w.b)
	return err
}

// linkInfo writes IFLA_LINKINFO with the kind and, if data is not nil,
// IFLA_INFO_DATA holding what data writes.
func linkInfo(w *builder, kind string, data func(*builder)) {
	info := w.nest(unix.IFLA_LINKINFO)
	w.attr(unix.IFLA_INFO_KIND, []byte(kind))
	if data != nil {
		d := w.nest(unix.IFLA_INFO_DATA)
		data(w)
		w.end(d)
	}
	w.end(info)
}

// EnsureBridge returns the bridge called name, up, creating it if
// missing. A link of that name that is not a bridge is ErrNotBridge.
// Calling it again changes nothing.
func (c *Conn) EnsureBridge(name string) (Link, error) {
	l, err := c.LinkByName(name)
	if errors.Is(err, syscall.ENODEV) {
		err = c.create("creating bridge "+name, func(w *builder) {
			w.str(unix.IFLA_IFNAME, name)
			linkInfo(w, "bridge", nil)
		})
		if err != nil && !errors.Is(err, syscall.EEXIST) { // EEXIST: created meanwhile
			return Link{}, err
		}
		l, err = c.LinkByName(name)
	}
	if err != nil {
		return Link{}, err
	}
	if l.Kind != "bridge" {
		return Link{}, printf.Errorf("rtnl: bridge %s: %w (kind %q)", name, ErrNotBridge, l.Kind)
	}
	if !l.Up() {
		if err := c.SetUp(l); err != nil {
			return Link{}, err
		}
		l.Flags |= unix.IFF_UP
	}
	return l, nil
}

// AddVeth creates the veth pair host–peer: host in this Conn's namespace,
// peer directly in the network namespace open as peerNetnsFD (its name
// is checked there), or next to host when peerNetnsFD is negative. Both
// ends start down.
func (c *Conn) AddVeth(host, peer string, peerNetnsFD int) error {
	return c.create("creating veth "+host+" (peer "+peer+")", func(w *builder) {
		w.str(unix.IFLA_IFNAME, host)
		linkInfo(w, "veth", func(w *builder) {
			p := w.nest(vethInfoPeer)
			w.ifinfomsg(0, 0, 0)
			w.str(unix.IFLA_IFNAME, peer)
			if peerNetnsFD >= 0 {
				w.u32(unix.IFLA_NET_NS_FD, uint32(peerNetnsFD))
			}
			w.end(p)
		})
	})
}

// AddMacvlan creates name, a macvlan in bridge mode over parent (a link
// of this Conn's namespace), directly in the network namespace open as
// netnsFD (its name is checked there), or next to parent when netnsFD is
// negative. It starts down.
func (c *Conn) AddMacvlan(name string, parent Link, netnsFD int) error {
	return c.create("creating macvlan "+name+" on "+parent.Name, func(w *builder) {
		w.str(unix.IFLA_IFNAME, name)
		w.u32(unix.IFLA_LINK, uint32(parent.Index))
		linkInfo(w, "macvlan", func(w *builder) {
			w.u32(unix.IFLA_MACVLAN_MODE, macvlanModeBridge)
		})
		if netnsFD >= 0 {
			w.u32(unix.IFLA_NET_NS_FD, uint32(netnsFD))
		}
	})
}
