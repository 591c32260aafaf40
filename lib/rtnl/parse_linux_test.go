package rtnl

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// msg writes one netlink message as the kernel would.
func msg(typ, flags uint16, seq uint32, payload []byte) []byte {
	b := header(typ, flags, seq, payload)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func i32(v int32) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(v)) }

// errMsg is an NLMSG_ERROR with a capped copy of the request (16 bytes)
// and, when text is not "", an NLMSGERR_ATTR_MSG.
func errMsg(seq uint32, errno int32, text string) []byte {
	p := append(i32(errno), header(unix.RTM_NEWLINK, 0, seq, nil)...)
	flags := uint16(unix.NLM_F_CAPPED)
	if text != "" {
		var w builder
		w.str(unix.NLMSGERR_ATTR_MSG, text)
		p = append(p, w.b...)
		flags |= unix.NLM_F_ACK_TLVS
	}
	return msg(unix.NLMSG_ERROR, flags, seq, p)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestParse(t *testing.T) {
	link := []byte{0, 0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name   string
		in     []byte
		nmsgs  int
		done   bool
		err    error  // errors.Is target, nil = no error
		errMsg string // exact error text when err is set
	}{
		{"ack", errMsg(7, 0, ""), 0, true, nil, ""},
		{"error", errMsg(7, -int32(unix.EEXIST), ""), 0, true, syscall.EEXIST, "file exists"},
		{"error with extended ack", errMsg(7, -int32(unix.EINVAL), "Unknown device type"), 0, true,
			syscall.EINVAL, "invalid argument (Unknown device type)"},
		{"ack tlvs without capping", msg(unix.NLMSG_ERROR, unix.NLM_F_ACK_TLVS, 7,
			cat(i32(-int32(unix.EPERM)), header(unix.RTM_NEWLINK, 0, 7, []byte{1, 2, 3, 4}),
				func() []byte { var w builder; w.str(unix.NLMSGERR_ATTR_MSG, "no"); return w.b }())),
			0, true, syscall.EPERM, "operation not permitted (no)"},
		{"reply to a get", msg(unix.RTM_NEWLINK, 0, 7, link), 1, true, nil, ""},
		{"dump part", cat(msg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 7, link), msg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 7, link)), 2, false, nil, ""},
		{"dump end", cat(msg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 7, link), msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 7, i32(0))), 1, true, nil, ""},
		{"dump end with error", msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 7, i32(-int32(unix.ENOBUFS))), 0, true, syscall.ENOBUFS, "no buffer space available"},
		{"dump interrupted", msg(unix.RTM_NEWLINK, unix.NLM_F_MULTI|unix.NLM_F_DUMP_INTR, 7, link), 0, false, ErrDumpInterrupted, ErrDumpInterrupted.Error()},
		{"other sequence skipped", cat(errMsg(6, -1, ""), msg(unix.RTM_NEWLINK, 0, 5, link), errMsg(7, 0, "")), 0, true, nil, ""},
		{"noop skipped", cat(msg(unix.NLMSG_NOOP, 0, 7, nil), errMsg(7, 0, "")), 0, true, nil, ""},
		{"empty", nil, 0, false, nil, ""},
		{"short header", []byte{16, 0, 0, 0, 2, 0}, 0, false, ErrTruncated, ErrTruncated.Error()},
		{"length past the end", msg(unix.RTM_NEWLINK, 0, 7, link)[:20], 0, false, ErrTruncated, ErrTruncated.Error()},
		{"length below the header", append(i32(8), make([]byte, 12)...), 0, false, ErrTruncated, ErrTruncated.Error()},
		{"error without errno", msg(unix.NLMSG_ERROR, 0, 7, []byte{1}), 0, true, ErrTruncated, ErrTruncated.Error()},
		{"positive errno", errMsg(7, 5, ""), 0, true, ErrTruncated, "rtnl: truncated netlink message: positive error 5"},
		{"bad request length in the ack", msg(unix.NLMSG_ERROR, unix.NLM_F_ACK_TLVS, 7, cat(i32(-1), i32(1000), make([]byte, 12))),
			0, true, syscall.EPERM, "operation not permitted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, done, err := parse(tt.in, 7)
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tt.err), "%v is %v", err, tt.err)
				assert.Equal(t, tt.errMsg, err.Error())
			}
			assert.Len(t, msgs, tt.nmsgs)
			assert.Equal(t, tt.done, done)
			for _, m := range msgs {
				assert.Equal(t, link, m.Data)
				assert.Equal(t, uint16(unix.RTM_NEWLINK), m.Type)
			}
		})
	}
}

func TestParseLink(t *testing.T) {
	var w builder
	w.ifinfomsg(3, unix.IFF_UP|unix.IFF_BROADCAST, 0)
	w.str(unix.IFLA_IFNAME, "pvbr0")
	w.attr(unix.IFLA_ADDRESS, []byte{2, 0, 10, 0, 0, 1})
	w.u32(unix.IFLA_MASTER, 9)
	linkInfo(&w, "bridge", func(w *builder) { w.u32(1, 5) })
	l, err := parseLink(w.b)
	require.NoError(t, err)
	assert.Equal(t, Link{Index: 3, Name: "pvbr0", Kind: "bridge", MAC: []byte{2, 0, 10, 0, 0, 1},
		Flags: unix.IFF_UP | unix.IFF_BROADCAST, Master: 9}, l)
	assert.True(t, l.Up())
	_, err = parseLink(w.b[:15])
	assert.ErrorIs(t, err, ErrTruncated)
}

func TestParseAttrs(t *testing.T) {
	var w builder
	w.str(1, "abc") // 4+4 bytes, padded to 8
	w.attr(2, []byte{9})
	n := w.nest(3)
	w.u32(4, 7)
	w.end(n)
	got := parseAttrs(w.b)
	require.Len(t, got, 3)
	assert.Equal(t, attr{1, []byte("abc\x00")}, got[0])
	assert.Equal(t, attr{2, []byte{9}}, got[1])
	assert.Equal(t, uint16(3), got[2].Type, "NLA_F_NESTED is masked off")
	assert.Equal(t, []attr{{4, i32(7)}}, parseAttrs(got[2].Value))
	assert.Len(t, parseAttrs(append(w.b, 200, 0, 1, 0)), 3, "a length past the end drops the tail")
	assert.Empty(t, parseAttrs([]byte{2, 0, 1, 0}), "a length below the header drops the tail")
}

func TestParseAddr(t *testing.T) {
	var w builder
	w.b = []byte{unix.AF_INET, 24, 0, 0, 5, 0, 0, 0}
	w.attr(unix.IFA_ADDRESS, []byte{10, 0, 0, 9})
	w.attr(unix.IFA_LOCAL, []byte{10, 0, 0, 2})
	p, index, ok := parseAddr(message{Type: unix.RTM_NEWADDR, Data: w.b})
	require.True(t, ok)
	assert.Equal(t, "10.0.0.2/24", p.String(), "IFA_LOCAL wins over the peer address")
	assert.Equal(t, 5, index)
	_, _, ok = parseAddr(message{Type: unix.RTM_NEWADDR, Data: w.b[:7]})
	assert.False(t, ok)
	_, _, ok = parseAddr(message{Type: unix.RTM_NEWADDR, Data: []byte{unix.AF_INET, 99, 0, 0, 5, 0, 0, 0, 8, 0, 1, 0, 10, 0, 0, 1}})
	assert.False(t, ok, "prefix length 99 is invalid for IPv4")
}

// FuzzParse: no input panics, and what parse returns is consistent.
func FuzzParse(f *testing.F) {
	f.Add(errMsg(1, -17, "Link exists"))
	f.Add(cat(msg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 1, make([]byte, 16)), msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, i32(0))))
	f.Add(msg(unix.RTM_NEWADDR, 0, 1, []byte{2, 24, 0, 0, 1, 0, 0, 0, 8, 0, 2, 0, 10, 0, 0, 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, done, err := parse(b, 1)
		var e *Error
		if errors.As(err, &e) && (e.Errno == 0 || !done) {
			t.Fatalf("negative ack %v with errno %d, done %v", err, e.Errno, done)
		}
		for _, m := range msgs {
			if m.Seq != 1 || m.Type < unix.NLMSG_MIN_TYPE {
				t.Fatalf("returned %+v", m)
			}
			_, _ = parseLink(m.Data)
			_, _, _ = parseAddr(m)
			parseAttrs(m.Data)
		}
	})
}

func TestMAC(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
	}{
		{"02:00:0a:00:00:02", []byte{2, 0, 10, 0, 0, 2}},
		{"AA:bb:CC:dd:EE:ff", []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}},
		{"02:00:0a:00:00", nil},
		{"02:00:0a:00:00:0g", nil},
		{"02-00-0a-00-00-02", nil},
		{"02:00:0a:00:00:02:", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := ParseMAC(tt.in)
		if tt.want == nil {
			assert.ErrorIs(t, err, ErrBadMAC, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got)
	}
	assert.Equal(t, "02:00:0a:00:00:ff", FormatMAC([]byte{2, 0, 10, 0, 0, 255}))
}

func TestHostName(t *testing.T) {
	a, b := HostName("web", 0), HostName("web", 1)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, HostName("db", 0))
	assert.Equal(t, a, HostName("web", 0), "stable")
	assert.Regexp(t, "^pv[0-9a-f]{8}0$", a)
	assert.LessOrEqual(t, len(HostName("a very long container name indeed", 99999)), MaxNameLen)
	assert.Equal(t, "pv811c9dc50", HostName("", 0), "FNV-1a offset basis for the empty name")
}
