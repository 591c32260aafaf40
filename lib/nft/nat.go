package nft

import (
	"fmt"
	"net/netip"
)

// Set is everything our table holds: the masquerade rules of NAT pools
// and the port forwards to containers.
type Set struct {
	Masquerade []Rule
	Forwards   []Forward
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
	return c, nil
}

func contains(rules []Rule, r Rule) bool {
	for _, x := range rules {
		if x == r {
			return true
		}
	}
	return false
}

// NAT keeps our table equal to the set of pools masqueraded and ports
// forwarded so far. The zero value is an empty set that programs the
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
func (n *NAT) Masquerade(subnet netip.Prefix, bridge string) error {
	r := Rule{Subnet: subnet.Masked(), Bridge: bridge}
	if err := r.check(); err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	set := n.set
	if !contains(set.Masquerade, r) {
		set.Masquerade = append(set.Masquerade[:len(set.Masquerade):len(set.Masquerade)], r)
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
		return fmt.Errorf("nft: %w", err)
	}
	return n.commit(set)
}

// Unforward drops every forward to address to (one container's) from the
// set and rewrites the table from the whole set. On error the set is
// unchanged.
func (n *NAT) Unforward(to netip.Addr) error {
	set := n.set
	set.Forwards = nil
	for _, f := range n.set.Forwards {
		if f.To.Addr() != to {
			set.Forwards = append(set.Forwards, f)
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
