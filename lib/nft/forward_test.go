package nft

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
)

func fwd(proto string, port uint16, to string) Forward {
	return Forward{Proto: proto, Port: port, To: ip4.MustParseAddrPort(to)}
}

func TestForwardBatchMatchesNft(t *testing.T) {
	g := golden(t)
	tcp, udp := fwd("tcp", 8080, "10.0.5.2:80"), fwd("udp", 53, "10.99.0.2:5353")
	b := applyBatch(1, Set{Forwards: []Forward{tcp, udp}})
	msgs := split(t, b.end())
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
		{newRule, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, g["fwd-tcp-prerouting"],
			"adding rule fib daddr type local tcp dport 8080 dnat to 10.0.5.2:80 in prerouting"},
		{newRule, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, g["fwd-udp-prerouting"],
			"adding rule fib daddr type local udp dport 53 dnat to 10.99.0.2:5353 in prerouting"},
		{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-output"], "adding chain output"},
		{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-output"], "flushing chain output"},
		{newRule, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, g["fwd-tcp-output"],
			"adding rule fib daddr type local tcp dport 8080 dnat to 10.0.5.2:80 in output"},
		{newRule, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, nil, // udp in output: no reference, checked below
			"adding rule fib daddr type local udp dport 53 dnat to 10.99.0.2:5353 in output"},
		{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-input"], "adding chain input"},
		{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-input"], "flushing chain input"},
		{unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, batchBody, "ending batch"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, w := range want {
		m := msgs[i]
		if m.typ != w.typ || m.flags != w.flags || m.seq != uint32(1+i) || b.what[i] != w.what {
			t.Errorf("message %d: type %#x flags %#x seq %d %q, want %#x %#x %d %q", i, m.typ, m.flags, m.seq, b.what[i], w.typ, w.flags, 1+i, w.what)
		}
		if w.body != nil && hex.EncodeToString(m.body) != hex.EncodeToString(w.body) {
			t.Errorf("message %d (%s) body:\n got %x\nwant %x", i, b.what[i], m.body, w.body)
		}
	}
	// The udp rule in output has no reference of its own: it is the
	// prerouting one after the chain name (nfgenmsg and table name take
	// 20 bytes, "prerouting" 16, "output" 12), as nft's tcp pair shows.
	tcpPre, tcpOut := g["fwd-tcp-prerouting"], g["fwd-tcp-output"]
	if string(tcpPre[36:]) != string(tcpOut[32:]) || string(tcpOut[:32]) != string(g["flushchain-output"]) {
		t.Fatalf("nft's tcp rules in prerouting and output differ beyond the chain name")
	}
	if got := msgs[11].body; string(got[:32]) != string(g["flushchain-output"]) || string(got[32:]) != string(g["fwd-udp-prerouting"][36:]) {
		t.Errorf("udp rule in output:\n got %x\nwant the prerouting one %x in output", got, g["fwd-udp-prerouting"])
	}
}

func TestProtoNum(t *testing.T) {
	for _, tc := range []struct {
		proto string
		num   byte
		ok    bool
	}{
		{"tcp", unix.IPPROTO_TCP, true}, {"udp", unix.IPPROTO_UDP, true},
		{"TCP", 0, false}, {"sctp", 0, false}, {"", 0, false},
	} {
		if num, ok := protoNum(tc.proto); num != tc.num || ok != tc.ok {
			t.Errorf("protoNum(%q) = %d, %v, want %d, %v", tc.proto, num, ok, tc.num, tc.ok)
		}
	}
}

func TestForwardCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Forward
		ok   bool
	}{
		{"tcp", fwd("tcp", 8080, "10.0.5.2:80"), true},
		{"udp", fwd("udp", 65535, "10.0.5.2:65535"), true},
		{"port 0", fwd("tcp", 0, "10.0.5.2:80"), false},
		{"target port 0", fwd("tcp", 8080, "10.0.5.2:0"), false},
		{"no target", Forward{Proto: "tcp", Port: 8080}, false},
		// IPv6 and IPv4-mapped targets are no ip4.AddrPort: lib/ip4 refuses them when parsing.
		{"port without address", Forward{Proto: "tcp", Port: 8080, To: ip4.AddrPortFrom(ip4.Addr{}, 80)}, false},
		{"unknown proto", fwd("sctp", 8080, "10.0.5.2:80"), false},
		{"empty proto", fwd("", 8080, "10.0.5.2:80"), false},
	} {
		err := tc.f.check()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidRule)) {
			t.Errorf("%s: check() = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if !tc.ok {
			if err := Apply(Set{Forwards: []Forward{tc.f}}); !errors.Is(err, ErrInvalidRule) {
				t.Errorf("%s: Apply = %v, want ErrInvalidRule (before any kernel call)", tc.name, err)
			}
		}
	}
}

func TestSetClean(t *testing.T) {
	a, a2 := fwd("tcp", 8080, "10.0.5.2:80"), fwd("tcp", 8080, "10.0.5.3:80")
	u := fwd("udp", 8080, "10.0.5.3:80") // same port, other protocol: no conflict
	r := Rule{mustPrefix("10.99.0.0/24"), "pvbrT"}
	got, err := Set{
		Masquerade: []Rule{r, {mustPrefix("10.99.0.9/24"), "pvbrT"}},
		Forwards:   []Forward{a, u, a},
	}.clean()
	want := Set{Masquerade: []Rule{r}, Forwards: []Forward{a, u}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("clean = %+v, %v, want %+v", got, err, want)
	}
	_, err = Set{Forwards: []Forward{a, u, a2}}.clean()
	if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), "10.0.5.2:80") || !strings.Contains(err.Error(), "10.0.5.3:80") {
		t.Errorf("conflict: %v, want ErrInvalidRule naming both targets", err)
	}
	if err := Apply(Set{Forwards: []Forward{a, a2}}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("Apply with a conflict: %v, want ErrInvalidRule", err)
	}
}

func TestNATForward(t *testing.T) {
	var applied []Set
	fail := error(nil)
	n := &NAT{Apply: func(set Set) error {
		applied = append(applied, set)
		return fail
	}}
	a, b := fwd("tcp", 8080, "10.0.5.2:80"), fwd("udp", 53, "10.0.5.2:53")
	c, conflict := fwd("tcp", 443, "10.0.6.2:443"), fwd("tcp", 8080, "10.0.6.2:80")
	pool := Rule{mustPrefix("10.0.5.0/24"), "pvbr0"}
	if err := n.Masquerade(pool.Subnet, pool.Bridge); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do      func() error
		fail    error
		want    []Forward // what Apply is given
		wantSet []Forward // the set afterwards
	}{
		{func() error { return n.Forward(a) }, nil, []Forward{a}, []Forward{a}},
		{func() error { return n.Forward(a) }, nil, []Forward{a}, []Forward{a}}, // again: no duplicate
		{func() error { return n.Forward(b) }, errors.New("boom"), []Forward{a, b}, []Forward{a}},
		{func() error { return n.Forward(b) }, nil, []Forward{a, b}, []Forward{a, b}},
		{func() error { return n.Forward(c) }, nil, []Forward{a, b, c}, []Forward{a, b, c}},
		{func() error { return n.Unforward(a.To.Addr()) }, errors.New("boom"), []Forward{c}, []Forward{a, b, c}},
		{func() error { return n.Unforward(a.To.Addr()) }, nil, []Forward{c}, []Forward{c}},
		{func() error { return n.Unforward(c.To.Addr()) }, nil, nil, nil},
	}
	for i, s := range steps {
		fail = s.fail
		err := s.do()
		if !errors.Is(err, s.fail) || (s.fail == nil) != (err == nil) {
			t.Errorf("step %d: err = %v, want %v", i, err, s.fail)
		}
		got := applied[len(applied)-1]
		if !reflect.DeepEqual(got.Forwards, s.want) || !reflect.DeepEqual(got.Masquerade, []Rule{pool}) {
			t.Errorf("step %d: applied %+v, want forwards %v and the pool", i, got, s.want)
		}
		if got := n.Forwards(); !reflect.DeepEqual(got, s.wantSet) {
			t.Errorf("step %d: set %v, want %v", i, got, s.wantSet)
		}
	}
	calls := len(applied)
	fail = nil
	if err := n.Forward(a); err != nil {
		t.Fatal(err)
	}
	calls++
	for _, f := range []Forward{conflict, fwd("tcp", 0, "10.0.5.2:80")} {
		if err := n.Forward(f); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("Forward(%v) = %v, want ErrInvalidRule", f, err)
		}
	}
	if len(applied) != calls {
		t.Errorf("an invalid forward reached Apply")
	}
	if got := n.Forwards(); !reflect.DeepEqual(got, []Forward{a}) {
		t.Errorf("set after refused forwards: %v, want %v", got, []Forward{a})
	}
}
