package tcpdial

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"pantavisor/lib/sentinel"
)

// Errors of a lookup.
var (
	// ErrNoSuchHost: the name has no address (NXDOMAIN, or no A and no
	// AAAA record, for every name the search list makes of it).
	ErrNoSuchHost error = &sentinel.Error{Text: "no such host"}
	// ErrNoAnswer: no server answered (timeouts, refusals, errors).
	ErrNoAnswer error = &sentinel.Error{Text: "no DNS server answered"}
	// ErrBadName: not a name DNS can carry (empty label, label over 63
	// bytes, name over 253).
	ErrBadName error = &sentinel.Error{Text: "invalid host name"}
)

// resolve returns host's addresses: host itself when it is an address,
// else from the hosts file, else from DNS.
func (d *Dialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if addrs := lookupHosts(orDefault(d.Hosts, "/etc/hosts"), host); len(addrs) > 0 {
		return addrs, nil
	}
	conf := readResolvConf(orDefault(d.ResolvConf, "/etc/resolv.conf"))
	port := d.DNSPort
	if port == 0 {
		port = 53
	}
	var last error = ErrNoSuchHost
	for _, name := range conf.names(host) {
		if !validName(name) {
			last = ErrBadName
			continue
		}
		for _, qtype := range []uint16{typeA, typeAAAA} {
			addrs, err := conf.query(ctx, name, qtype, port)
			if len(addrs) > 0 {
				return addrs, nil
			}
			if err != nil && err != ErrNoSuchHost {
				last = err // an answer for another name may still come
			}
			if err != nil {
				// NXDOMAIN: the name has no records of any type; no
				// answer: the AAAA query would wait as long for none.
				break
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, last
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// lookupHosts returns the addresses the hosts file gives name.
func lookupHosts(path, name string) []netip.Addr {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	name = strings.TrimSuffix(name, ".")
	var out []netip.Addr
	for line := range strings.Lines(string(b)) {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, n := range f[1:] {
			if strings.EqualFold(strings.TrimSuffix(n, "."), name) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// resolvConf is what resolv.conf says, with glibc's defaults.
type resolvConf struct {
	servers  []netip.Addr
	search   []string
	ndots    int
	timeout  time.Duration
	attempts int
}

// readResolvConf reads path: nameserver (three at most), search or
// domain (the last one wins), and options ndots, timeout and attempts.
// Without servers it asks the local host, as glibc does.
func readResolvConf(path string) *resolvConf {
	c := &resolvConf{ndots: 1, timeout: 5 * time.Second, attempts: 2}
	if b, err := os.ReadFile(path); err == nil {
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) == 0 || f[0][0] == '#' || f[0][0] == ';' {
				continue
			}
			switch {
			case f[0] == "nameserver" && len(f) > 1 && len(c.servers) < 3:
				if a, err := netip.ParseAddr(f[1]); err == nil {
					c.servers = append(c.servers, a)
				}
			case f[0] == "search":
				c.search = f[1:]
			case f[0] == "domain" && len(f) > 1:
				c.search = f[1:2]
			case f[0] == "options":
				c.options(f[1:])
			}
		}
	}
	if len(c.servers) == 0 {
		c.servers = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	}
	return c
}

func (c *resolvConf) options(opts []string) {
	for _, o := range opts {
		key, value, _ := strings.Cut(o, ":")
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			continue
		}
		switch key {
		case "ndots":
			c.ndots = min(n, 15)
		case "timeout":
			c.timeout = time.Duration(max(n, 1)) * time.Second
		case "attempts":
			c.attempts = min(max(n, 1), 5)
		}
	}
}

// names is the names to ask for host, fully qualified, in order: host
// alone first when it has ndots dots or more (or ends with a dot), else
// after the search domains.
func (c *resolvConf) names(host string) []string {
	if strings.HasSuffix(host, ".") {
		return []string{host}
	}
	var out []string
	for _, s := range c.search {
		out = append(out, host+"."+strings.TrimSuffix(s, ".")+".")
	}
	if strings.Count(host, ".") >= c.ndots {
		return append([]string{host + "."}, out...)
	}
	return append(out, host+".")
}

// validName reports whether name (fully qualified) fits DNS: labels of 1
// to 63 bytes, 254 bytes in all with the final dot.
func validName(name string) bool {
	if len(name) < 2 || len(name) > 254 {
		return false
	}
	for _, l := range strings.Split(name[:len(name)-1], ".") {
		if len(l) == 0 || len(l) > 63 {
			return false
		}
	}
	return true
}
