package nft

import (
	"pantavisor/lib/ip4"
	"pantavisor/lib/printf"
)

// Set is everything our table holds: the masquerade rules of NAT pools,
// the port forwards to containers and the isolation of bridge pools.
type Set struct {
	Masquerade []Rule
	Forwards   []Forward
	Isolate    []Isolation
}

// clean returns set with subnets masked and duplicates dropped, or the
// first ErrInvalidRule of its rules and forwards.
func (set Set) clean() (Set, error) {
	var c Set
	for _, r := range set.Masquerade {
		if err := r.check(); err != nil {
			return c, err
		}
		r.Subnet = r.Subnet.Masked()
		if !contains(c.Masquerade, r) {
			c.Masquerade = append(c.Masquerade, r)
		}
	}
	for _, f := range set.Forwards {
		var err error
		if c.Forwards, err = addForward(c.Forwards, f); err != nil {
			return c, err
		}
	}
	var err error
	c.Isolate, err = cleanIsolate(set.Isolate)
	return c, err
}

// cleanIsolate returns iso with duplicates dropped, or the first
// ErrInvalidRule among them.
func cleanIsolate(iso []Isolation) ([]Isolation, error) {
	var c []Isolation
	for _, i := range iso {
		if err := i.check(); err != nil {
			return nil, err
		}
		if !containsIso(c, i) {
			c = append(c, i)
		}
	}
	return c, nil
}

func containsIso(iso []Isolation, i Isolation) bool {
	for _, x := range iso {
		if x == i {
			return true
		}
	}
	return false
}

func contains(rules []Rule, r Rule) bool {
	for _, x := range rules {
		if x == r {
			return true
		}
	}
	return false
}

// NAT keeps our table equal to its set: the pools masqueraded and
// isolated (Masquerade adds one, SetPools replaces them all) and the
// ports forwarded. The zero value is an empty set that programs the
// kernel.
type NAT struct {
	// Apply replaces the table's rules; nil means the package's Apply
	// (the kernel, in the calling thread's network namespace).
	Apply func(set Set) error

	set Set
}

// Masquerade adds the pool subnet, bridged on bridge, to the set and
// rewrites the table from the whole set, so adding the same pool again
// leaves one rule for it. On error the set is unchanged; the error is
// Apply's (ErrInvalidRule, or the kernel's step and errno).
func (n *NAT) Masquerade(subnet ip4.Prefix, bridge string) error {
	r := Rule{Subnet: subnet.Masked(), Bridge: bridge}
	if err := r.check(); err != nil {
		return printf.Errorf("nft: %w", err)
	}
	set := n.set
	if !contains(set.Masquerade, r) {
		set.Masquerade = append(set.Masquerade[:len(set.Masquerade):len(set.Masquerade)], r)
	}
	return n.commit(set)
}

// SetPools replaces the pool-level part of the set, the masquerade rules
// and the isolations, by masq and iso (duplicates dropped), keeps the
// forwards, and rewrites the table from the whole set: a pool left out
// loses its rules. On error the set is unchanged; the error is
// ErrInvalidRule (before any kernel call) or Apply's.
func (n *NAT) SetPools(masq []Rule, iso []Isolation) error {
	set, err := Set{Masquerade: masq, Forwards: n.set.Forwards, Isolate: iso}.clean()
	if err != nil {
		return printf.Errorf("nft: %w", err)
	}
	return n.commit(set)
}

// Forward adds port forward f to the set and rewrites the table from the
// whole set; forwarding the same port to the same target again leaves
// one rule for it. A forward of a port and protocol already forwarded to
// another target fails with ErrInvalidRule naming both. On error the set
// is unchanged.
func (n *NAT) Forward(f Forward) error {
	set := n.set
	var err error
	if set.Forwards, err = addForward(set.Forwards, f); err != nil {
		return printf.Errorf("nft: %w", err)
	}
	return n.commit(set)
}

// Unforward drops every forward to address to (one container's) from the
// set and rewrites the table from the whole set. On error the set is
// unchanged.
func (n *NAT) Unforward(to ip4.Addr) error {
	return n.ReplaceForwards(to, nil)
}

// ReplaceForwards drops every forward to address old (one container's
// previous forwards; the zero Addr drops none), adds fs, and rewrites
// the table from the whole set, all in one commit: either every forward
// of fs is in place and old's are gone, or, on error, the set is
// unchanged. A forward of fs that clashes with another container's (same
// port and protocol, other target) or with another of fs is
// ErrInvalidRule naming both, before any kernel call.
func (n *NAT) ReplaceForwards(old ip4.Addr, fs []Forward) error {
	set := n.set
	set.Forwards = nil
	for _, f := range n.set.Forwards {
		if f.To.Addr() != old {
			set.Forwards = append(set.Forwards, f)
		}
	}
	for _, f := range fs {
		var err error
		if set.Forwards, err = addForward(set.Forwards, f); err != nil {
			return printf.Errorf("nft: %w", err)
		}
	}
	return n.commit(set)
}

// Rules returns a copy of the masquerade rules, in the order the pools
// were added.
func (n *NAT) Rules() []Rule {
	return append([]Rule(nil), n.set.Masquerade...)
}

// Forwards returns a copy of the forwards, in the order they were added.
func (n *NAT) Forwards() []Forward {
	return append([]Forward(nil), n.set.Forwards...)
}

// Isolations returns a copy of the isolations, in the order given.
func (n *NAT) Isolations() []Isolation {
	return append([]Isolation(nil), n.set.Isolate...)
}

// Remove deletes our table (see Remove) and empties the set.
func (n *NAT) Remove() error {
	if err := Remove(); err != nil {
		return err
	}
	n.set = Set{}
	return nil
}

// commit applies set and, if that worked, keeps it.
func (n *NAT) commit(set Set) error {
	apply := n.Apply
	if apply == nil {
		apply = Apply
	}
	if err := apply(set); err != nil {
		return err
	}
	n.set = set
	return nil
}
