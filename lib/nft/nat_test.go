package nft

import (
	"errors"
	"reflect"
	"testing"

	"pantavisor/lib/ip4"
)

func TestNATMasquerade(t *testing.T) {
	var applied [][]Rule
	fail := error(nil)
	n := &NAT{Apply: func(set Set) error {
		applied = append(applied, append([]Rule(nil), set.Masquerade...))
		return fail
	}}
	a := Rule{ip4.MustParsePrefix("10.99.0.0/24"), "pvbrT"}
	b := Rule{ip4.MustParsePrefix("10.98.0.0/16"), "pvbr1"}
	steps := []struct {
		subnet  string
		bridge  string
		fail    error
		want    []Rule // what Apply is given
		wantSet []Rule // the set afterwards
	}{
		{"10.99.0.0/24", "pvbrT", nil, []Rule{a}, []Rule{a}},
		{"10.99.0.9/24", "pvbrT", nil, []Rule{a}, []Rule{a}}, // same pool again: no duplicate
		{"10.98.0.0/16", "pvbr1", errors.New("boom"), []Rule{a, b}, []Rule{a}},
		{"10.98.0.0/16", "pvbr1", nil, []Rule{a, b}, []Rule{a, b}},
		{"10.99.0.0/24", "pvbrT", nil, []Rule{a, b}, []Rule{a, b}},
	}
	for i, s := range steps {
		fail = s.fail
		err := n.Masquerade(ip4.MustParsePrefix(s.subnet), s.bridge)
		if !errors.Is(err, s.fail) || (s.fail == nil) != (err == nil) {
			t.Errorf("step %d: err = %v, want %v", i, err, s.fail)
		}
		if got := applied[len(applied)-1]; !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: applied %v, want %v", i, got, s.want)
		}
		if got := n.Rules(); !reflect.DeepEqual(got, s.wantSet) {
			t.Errorf("step %d: set %v, want %v", i, got, s.wantSet)
		}
	}
	calls := len(applied)
	if err := n.Masquerade(ip4.Prefix{}, "pvbrT"); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("invalid prefix: %v, want ErrInvalidRule", err)
	}
	if len(applied) != calls {
		t.Errorf("an invalid rule reached Apply")
	}
}
