package nft

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
)

func iso(bridge, gw string) Isolation {
	return Isolation{Bridge: bridge, Gateway: ip4.MustParseAddr(gw)}
}

func TestIsolateBatchMatchesNft(t *testing.T) {
	g := golden(t)
	a, b := iso("pvbrT", "10.99.0.1"), iso("averyverylongna", "192.168.77.129")
	bt := applyBatch(1, Set{Isolate: []Isolation{a, b}})
	msgs := split(t, bt.end())
	newRule := uint16(nftType | unix.NFT_MSG_NEWRULE)
	want := []struct {
		typ, flags uint16
		body       []byte
		what       string
	}{
		{unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, batchBody, "starting batch"},
		{nftType | unix.NFT_MSG_NEWTABLE, ackReq | unix.NLM_F_CREATE, g["newtable"], "adding table pantavisor"},
		{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain"], "adding chain postrouting"},
		{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain"], "flushing chain postrouting"},
		{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-prerouting"], "adding chain prerouting"},
		{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-prerouting"], "flushing chain prerouting"},
		{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-output"], "adding chain output"},
		{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-output"], "flushing chain output"},
		{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-input"], "adding chain input"},
		{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-input"], "flushing chain input"},
		{newRule, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, g["iso-pvbrT"],
			`adding rule iifname "pvbrT" ip daddr != 10.99.0.1 ct state ! established,related drop`},
		{newRule, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, g["iso-long"],
			`adding rule iifname "averyverylongna" ip daddr != 192.168.77.129 ct state ! established,related drop`},
		{unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, batchBody, "ending batch"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, w := range want {
		m := msgs[i]
		if m.typ != w.typ || m.flags != w.flags || m.seq != uint32(1+i) || bt.what[i] != w.what {
			t.Errorf("message %d: type %#x flags %#x seq %d %q, want %#x %#x %d %q", i, m.typ, m.flags, m.seq, bt.what[i], w.typ, w.flags, 1+i, w.what)
		}
		if len(w.body) == 0 || hex.EncodeToString(m.body) != hex.EncodeToString(w.body) {
			t.Errorf("message %d (%s) body:\n got %x\nwant %x", i, bt.what[i], m.body, w.body)
		}
	}
}

func TestIsolationCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		i    Isolation
		ok   bool
	}{
		{"ok", iso("pvbrT", "10.99.0.1"), true},
		{"15-byte bridge", iso("abcdefghijklmno", "10.99.0.1"), true},
		{"16-byte bridge", iso("abcdefghijklmnop", "10.99.0.1"), false},
		{"empty bridge", iso("", "10.99.0.1"), false},
		// IPv6 and IPv4-mapped gateways are no ip4.Addr: lib/ip4 refuses them when parsing.
		{"no gateway", Isolation{Bridge: "pvbrT"}, false},
	} {
		err := tc.i.check()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidRule)) {
			t.Errorf("%s: check() = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if !tc.ok {
			if err := Apply(Set{Isolate: []Isolation{tc.i}}); !errors.Is(err, ErrInvalidRule) {
				t.Errorf("%s: Apply = %v, want ErrInvalidRule (before any kernel call)", tc.name, err)
			}
		}
	}
}

// TestNATSetPools: SetPools replaces the masquerade rules and isolations
// (a pool left out loses both), keeps the forwards, drops duplicates, and
// changes nothing on error or invalid input.
func TestNATSetPools(t *testing.T) {
	var applied []Set
	fail := error(nil)
	n := &NAT{Apply: func(set Set) error {
		applied = append(applied, set)
		return fail
	}}
	f := fwd("tcp", 8080, "10.99.0.2:80")
	if err := n.Forward(f); err != nil {
		t.Fatal(err)
	}
	a := Rule{mustPrefix("10.99.0.0/24"), "pvbrT"}
	b := Rule{mustPrefix("10.98.0.0/16"), "pvbr1"}
	ia, ib := iso("pvbrT", "10.99.0.1"), iso("pvbr1", "10.98.0.1")
	steps := []struct {
		masq    []Rule
		iso     []Isolation
		fail    error
		want    Set // what Apply is given
		wantSet Set // the set afterwards
	}{
		{[]Rule{a, b, {mustPrefix("10.99.0.9/24"), "pvbrT"}}, []Isolation{ia, ib, ia}, nil,
			Set{[]Rule{a, b}, []Forward{f}, []Isolation{ia, ib}}, Set{[]Rule{a, b}, []Forward{f}, []Isolation{ia, ib}}},
		{[]Rule{b}, []Isolation{ib}, errors.New("boom"),
			Set{[]Rule{b}, []Forward{f}, []Isolation{ib}}, Set{[]Rule{a, b}, []Forward{f}, []Isolation{ia, ib}}},
		{nil, []Isolation{ib}, nil, // pool a gone, pool b without NAT
			Set{nil, []Forward{f}, []Isolation{ib}}, Set{nil, []Forward{f}, []Isolation{ib}}},
		{nil, nil, nil, Set{nil, []Forward{f}, nil}, Set{nil, []Forward{f}, nil}},
	}
	for i, s := range steps {
		fail = s.fail
		err := n.SetPools(s.masq, s.iso)
		if !errors.Is(err, s.fail) || (s.fail == nil) != (err == nil) {
			t.Errorf("step %d: err = %v, want %v", i, err, s.fail)
		}
		if got := applied[len(applied)-1]; !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: applied %+v, want %+v", i, got, s.want)
		}
		if got := (Set{n.Rules(), n.Forwards(), n.Isolations()}); !reflect.DeepEqual(got, s.wantSet) {
			t.Errorf("step %d: set %+v, want %+v", i, got, s.wantSet)
		}
	}
	calls := len(applied)
	for _, bad := range []struct {
		masq []Rule
		iso  []Isolation
	}{
		{[]Rule{{ip4.Prefix{}, "pvbrT"}}, nil},
		{nil, []Isolation{iso("", "10.99.0.1")}},
	} {
		if err := n.SetPools(bad.masq, bad.iso); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("SetPools(%v, %v) = %v, want ErrInvalidRule", bad.masq, bad.iso, err)
		}
	}
	if len(applied) != calls {
		t.Errorf("an invalid rule reached Apply")
	}
}

// TestNATReplaceForwards: a container's forwards are replaced all at
// once; a clash with another container's port, or within the new list,
// or a failing Apply leaves every forward as it was.
func TestNATReplaceForwards(t *testing.T) {
	fail := error(nil)
	calls := 0
	n := &NAT{Apply: func(Set) error { calls++; return fail }}
	c2, c3 := ip4.MustParseAddr("10.99.0.2"), ip4.MustParseAddr("10.99.0.3")
	other := fwd("tcp", 9000, "10.99.0.3:90")
	a, b := fwd("tcp", 8080, "10.99.0.2:80"), fwd("udp", 53, "10.99.0.2:53")
	steps := []struct {
		old      ip4.Addr
		fs       []Forward
		fail     error
		invalid  bool
		want     []Forward
		applyRun bool
	}{
		{ip4.Addr{}, []Forward{other}, nil, false, []Forward{other}, true},
		{ip4.Addr{}, []Forward{a, b}, nil, false, []Forward{other, a, b}, true},
		// the second port clashes with the other container's: nothing changes
		{c2, []Forward{fwd("tcp", 8081, "10.99.0.2:80"), fwd("tcp", 9000, "10.99.0.2:90")}, nil, true, []Forward{other, a, b}, false},
		// two of the new list clash with each other
		{c2, []Forward{fwd("tcp", 8081, "10.99.0.2:80"), fwd("tcp", 8081, "10.99.0.2:81")}, nil, true, []Forward{other, a, b}, false},
		{c2, []Forward{fwd("tcp", 8081, "10.99.0.2:80")}, errors.New("boom"), false, []Forward{other, a, b}, true},
		{c2, []Forward{fwd("tcp", 8081, "10.99.0.2:80")}, nil, false, []Forward{other, fwd("tcp", 8081, "10.99.0.2:80")}, true},
		{c3, nil, nil, false, []Forward{fwd("tcp", 8081, "10.99.0.2:80")}, true},
	}
	for i, s := range steps {
		fail = s.fail
		before := calls
		err := n.ReplaceForwards(s.old, s.fs)
		switch {
		case s.invalid && !errors.Is(err, ErrInvalidRule):
			t.Errorf("step %d: err = %v, want ErrInvalidRule", i, err)
		case !s.invalid && (!errors.Is(err, s.fail) || (s.fail == nil) != (err == nil)):
			t.Errorf("step %d: err = %v, want %v", i, err, s.fail)
		}
		if ran := calls > before; ran != s.applyRun {
			t.Errorf("step %d: Apply ran: %v, want %v", i, ran, s.applyRun)
		}
		if got := n.Forwards(); !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: forwards %v, want %v", i, got, s.want)
		}
	}
}
