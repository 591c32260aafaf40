package nft

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
)

// golden reads testdata/nft-1.0.6-mnl.txt: what nft itself sends.
func golden(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/nft-1.0.6-mnl.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		name, h, ok := strings.Cut(s.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	return out
}

// rawMsg is one netlink message split out of a batch.
type rawMsg struct {
	typ, flags uint16
	seq        uint32
	body       []byte // after the nlmsghdr
}

func split(t *testing.T, b []byte) []rawMsg {
	t.Helper()
	var out []rawMsg
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			t.Fatalf("%d trailing bytes", len(b))
		}
		n := int(binary.NativeEndian.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) || n%4 != 0 {
			t.Fatalf("bad message length %d of %d", n, len(b))
		}
		out = append(out, rawMsg{
			typ:   binary.NativeEndian.Uint16(b[4:]),
			flags: binary.NativeEndian.Uint16(b[6:]),
			seq:   binary.NativeEndian.Uint32(b[8:]),
			body:  b[nlmsgHdrLen:n],
		})
		b = b[n:]
	}
	return out
}

func mustPrefix(s string) ip4.Prefix { return ip4.MustParsePrefix(s) }

const (
	nftType = unix.NFNL_SUBSYS_NFTABLES << 8
	ackReq  = unix.NLM_F_REQUEST | unix.NLM_F_ACK
)

// batchBody is the nfgenmsg of NFNL_MSG_BATCH_BEGIN/END: AF_UNSPEC,
// version 0, resource id NFNL_SUBSYS_NFTABLES big-endian.
var batchBody = []byte{0, 0, 0, 0x0a}

func TestApplyBatchMatchesNft(t *testing.T) {
	g := golden(t)
	for _, tc := range []struct {
		rule   Rule
		golden string
	}{
		{Rule{mustPrefix("10.99.0.0/24"), "pvbrT"}, "rule-g24"},                // 3-byte load, no mask
		{Rule{mustPrefix("10.99.0.77/24"), "pvbrT"}, "rule-g24"},               // host bits dropped
		{Rule{mustPrefix("172.16.16.0/20"), "lxcbr0"}, "rule-g20"},             // 4-byte load + bitwise
		{Rule{mustPrefix("10.1.2.3/32"), "pvbrT"}, "rule-g32"},                 // 4-byte load, no mask
		{Rule{mustPrefix("0.0.0.0/0"), "br0"}, "rule-g0"},                      // nft masks with 0
		{Rule{mustPrefix("10.0.0.0/8"), "lxcbr0"}, "rule-g8"},                  // 1-byte load
		{Rule{mustPrefix("192.168.77.128/25"), "averyverylongna"}, "rule-g25"}, // 15-byte name
	} {
		t.Run(tc.rule.String(), func(t *testing.T) {
			b := applyBatch(7, Set{Masquerade: []Rule{tc.rule}})
			msgs := split(t, b.end())
			want := []struct {
				typ, flags uint16
				body       []byte
			}{
				{unix.NFNL_MSG_BATCH_BEGIN, unix.NLM_F_REQUEST, batchBody},
				{nftType | unix.NFT_MSG_NEWTABLE, ackReq | unix.NLM_F_CREATE, g["newtable"]},
				{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain"]},
				{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain"]},
				{nftType | unix.NFT_MSG_NEWRULE, ackReq | unix.NLM_F_CREATE | unix.NLM_F_APPEND, g[tc.golden]},
				{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-prerouting"]},
				{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-prerouting"]},
				{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-output"]},
				{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-output"]},
				{nftType | unix.NFT_MSG_NEWCHAIN, ackReq | unix.NLM_F_CREATE, g["newchain-input"]},
				{nftType | unix.NFT_MSG_DELRULE, ackReq, g["flushchain-input"]},
				{unix.NFNL_MSG_BATCH_END, unix.NLM_F_REQUEST, batchBody},
			}
			if len(msgs) != len(want) {
				t.Fatalf("%d messages, want %d", len(msgs), len(want))
			}
			for i, w := range want {
				m := msgs[i]
				if m.typ != w.typ || m.flags != w.flags || m.seq != uint32(7+i) {
					t.Errorf("message %d: type %#x flags %#x seq %d, want %#x %#x %d", i, m.typ, m.flags, m.seq, w.typ, w.flags, 7+i)
				}
				if len(w.body) == 0 || hex.EncodeToString(m.body) != hex.EncodeToString(w.body) {
					t.Errorf("message %d (%s) body:\n got %x\nwant %x", i, b.what[i], m.body, w.body)
				}
			}
		})
	}
}

func TestApplyBatchSeveralRules(t *testing.T) {
	g := golden(t)
	b := applyBatch(1, Set{Masquerade: []Rule{{mustPrefix("10.99.0.0/24"), "pvbrT"}, {mustPrefix("172.16.16.0/20"), "lxcbr0"}}})
	msgs := split(t, b.end())
	if len(msgs) != 13 {
		t.Fatalf("%d messages, want 13", len(msgs))
	}
	if string(msgs[4].body) != string(g["rule-g24"]) || string(msgs[5].body) != string(g["rule-g20"]) {
		t.Errorf("rules not appended in order")
	}
	wantWhat := []string{"starting batch", "adding table pantavisor", "adding chain postrouting",
		"flushing chain postrouting", `adding rule ip saddr 10.99.0.0/24 oifname != "pvbrT" masquerade`,
		`adding rule ip saddr 172.16.16.0/20 oifname != "lxcbr0" masquerade`,
		"adding chain prerouting", "flushing chain prerouting", "adding chain output", "flushing chain output",
		"adding chain input", "flushing chain input", "ending batch"}
	if strings.Join(b.what, "|") != strings.Join(wantWhat, "|") {
		t.Errorf("what = %q, want %q", b.what, wantWhat)
	}
}

func TestRemoveBatchMatchesNft(t *testing.T) {
	g := golden(t)
	msgs := split(t, removeBatch(3).end())
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	m := msgs[1]
	if m.typ != nftType|unix.NFT_MSG_DELTABLE || m.flags != ackReq || m.seq != 4 {
		t.Errorf("type %#x flags %#x seq %d", m.typ, m.flags, m.seq)
	}
	if string(m.body) != string(g["deltable"]) {
		t.Errorf("body %x, want %x", m.body, g["deltable"])
	}
	if msgs[0].typ != unix.NFNL_MSG_BATCH_BEGIN || msgs[2].typ != unix.NFNL_MSG_BATCH_END || msgs[2].seq != 5 {
		t.Errorf("framing %+v %+v", msgs[0], msgs[2])
	}
}

func TestRuleCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
		ok   bool
	}{
		{"ok", Rule{mustPrefix("10.99.0.0/24"), "pvbrT"}, true},
		{"15-byte bridge", Rule{mustPrefix("10.99.0.0/24"), "abcdefghijklmno"}, true},
		{"16-byte bridge", Rule{mustPrefix("10.99.0.0/24"), "abcdefghijklmnop"}, false},
		{"empty bridge", Rule{mustPrefix("10.99.0.0/24"), ""}, false},
		// IPv6 and IPv4-mapped subnets are no ip4.Prefix: lib/ip4 refuses them when parsing.
		{"length out of range", Rule{ip4.PrefixFrom(ip4.MustParseAddr("10.99.0.0"), 33), "pvbrT"}, false},
		{"zero prefix", Rule{ip4.Prefix{}, "pvbrT"}, false},
	} {
		err := tc.rule.check()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidRule)) {
			t.Errorf("%s: check() = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if !tc.ok {
			if err := Apply(Set{Masquerade: []Rule{tc.rule}}); !errors.Is(err, ErrInvalidRule) {
				t.Errorf("%s: Apply = %v, want ErrInvalidRule (before any kernel call)", tc.name, err)
			}
		}
	}
}

func TestPrefixMask(t *testing.T) {
	for bits, want := range map[int][4]byte{
		0: {}, 1: {0x80}, 7: {0xfe}, 8: {0xff}, 12: {0xff, 0xf0}, 20: {0xff, 0xff, 0xf0},
		25: {0xff, 0xff, 0xff, 0x80}, 31: {0xff, 0xff, 0xff, 0xfe}, 32: {0xff, 0xff, 0xff, 0xff},
	} {
		if got := prefixMask(bits); got != want {
			t.Errorf("prefixMask(%d) = %x, want %x", bits, got, want)
		}
	}
}
