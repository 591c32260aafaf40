package nft

import (
	"fmt"
	"net/netip"
)

// NAT keeps our chain equal to the set of pools masqueraded so far. The
// zero value is an empty set that programs the kernel.
type NAT struct {
	// Apply replaces the chain's rules; nil means the package's Apply
	// (the kernel, in the calling thread's network namespace).
	Apply func(rules []Rule) error

	rules []Rule
}

// Masquerade adds the pool subnet, bridged on bridge, to the set and
// rewrites the chain from the whole set, so adding the same pool again
// leaves one rule for it. On error the set is unchanged; the error is
// Apply's (ErrInvalidRule, or the kernel's step and errno).
func (n *NAT) Masquerade(subnet netip.Prefix, bridge string) error {
	r := Rule{Subnet: subnet.Masked(), Bridge: bridge}
	if err := r.check(); err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	rules := n.rules
	if !contains(rules, r) {
		rules = append(rules[:len(rules):len(rules)], r)
	}
	if err := n.apply(rules); err != nil {
		return err
	}
	n.rules = rules
	return nil
}

// Rules returns a copy of the set, in the order the pools were added.
func (n *NAT) Rules() []Rule {
	return append([]Rule(nil), n.rules...)
}

// Remove deletes our table (see Remove) and empties the set.
func (n *NAT) Remove() error {
	if err := Remove(); err != nil {
		return err
	}
	n.rules = nil
	return nil
}

func (n *NAT) apply(rules []Rule) error {
	if n.Apply != nil {
		return n.Apply(rules)
	}
	return Apply(rules)
}
