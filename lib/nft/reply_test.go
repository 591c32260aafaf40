package nft

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"pantavisor/lib/ip4"
)

// errMsg builds an NLMSG_ERROR reply to message seq with error -errno,
// echoing a header (as the kernel does) and extra trailing bytes.
func errMsg(seq uint32, errno syscall.Errno, extra int) []byte {
	n := nlmsgHdrLen + 4 + nlmsgHdrLen + extra
	b := make([]byte, n)
	binary.NativeEndian.PutUint32(b[0:], uint32(n))
	binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_ERROR)
	binary.NativeEndian.PutUint32(b[8:], seq)
	binary.NativeEndian.PutUint32(b[16:], uint32(-int32(errno)))
	binary.NativeEndian.PutUint32(b[20:], uint32(nlmsgHdrLen+extra))
	binary.NativeEndian.PutUint32(b[28:], seq)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestParseAcks(t *testing.T) {
	done := make([]byte, nlmsgHdrLen+4)
	binary.NativeEndian.PutUint32(done, uint32(len(done)))
	binary.NativeEndian.PutUint16(done[4:], unix.NLMSG_DONE)
	for _, tc := range []struct {
		name    string
		in      []byte
		want    []ack
		wantErr bool
	}{
		{"empty", nil, nil, false},
		{"one ack", errMsg(2, 0, 0), []ack{{2, 0}}, false},
		{"ack then error", cat(errMsg(2, 0, 0), errMsg(3, unix.EOPNOTSUPP, 5)), []ack{{2, 0}, {3, unix.EOPNOTSUPP}}, false},
		{"other types skipped", cat(done, errMsg(4, unix.ENOENT, 0)), []ack{{4, unix.ENOENT}}, false},
		{"short header", []byte{1, 2, 3}, nil, true},
		{"length past end", errMsg(2, 0, 0)[:20], nil, true},
		{"length below header", append([]byte{8, 0, 0, 0}, make([]byte, 12)...), nil, true},
		{"error without code", func() []byte {
			b := make([]byte, nlmsgHdrLen)
			binary.NativeEndian.PutUint32(b, nlmsgHdrLen)
			binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_ERROR)
			return b
		}(), nil, true},
	} {
		got, err := parseAcks(tc.in)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrMalformedReply)) {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: ack %d = %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}

func TestBatchCheck(t *testing.T) {
	rules := []Rule{{ip4.MustParsePrefix("10.99.0.0/24"), "pvbrT"}}
	// seq 10 begin, 11 table, 12 chain, 13 flush, 14 rule, 15-18 the
	// prerouting and output chains and their flushes, 19 end.
	for _, tc := range []struct {
		name   string
		acks   []ack
		errno  error
		errMsg string
	}{
		{"all acked", []ack{{11, 0}, {12, 0}, {13, 0}, {14, 0}, {15, 0}, {16, 0}, {17, 0}, {18, 0}, {19, 0}, {20, 0}}, nil, ""},
		{"chain unsupported", []ack{{11, 0}, {12, unix.EOPNOTSUPP}, {13, 0}, {14, 0}}, unix.EOPNOTSUPP,
			"nft: adding chain postrouting: operation not supported"},
		{"first failure in batch order wins", []ack{{14, unix.ENOENT}, {12, unix.EOPNOTSUPP}}, unix.EOPNOTSUPP,
			"nft: adding chain postrouting: operation not supported"},
		{"batch rejected", []ack{{10, unix.EINVAL}}, unix.EINVAL, "nft: starting batch: invalid argument"},
		{"missing ack", []ack{{11, 0}, {12, 0}, {14, 0}}, ErrNoAck,
			"nft: flushing chain postrouting: no acknowledgement from the kernel"},
		{"unknown seq", []ack{{99, unix.EPERM}}, unix.EPERM, "nft: message 99: operation not permitted"},
	} {
		b := applyBatch(10, Set{Masquerade: rules})
		b.end()
		err := b.check(tc.acks)
		if tc.errno == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, tc.errno) || err.Error() != tc.errMsg {
			t.Errorf("%s: err = %v, want %q (%v)", tc.name, err, tc.errMsg, tc.errno)
		}
	}
}

// FuzzParseAcks: any input parses or fails with ErrMalformedReply,
// without panicking; a well-formed reply round-trips.
func FuzzParseAcks(f *testing.F) {
	f.Add(errMsg(2, 0, 0))
	f.Add(cat(errMsg(2, 0, 0), errMsg(3, unix.EOPNOTSUPP, 3)))
	f.Add([]byte{16, 0, 0, 0, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		acks, err := parseAcks(b)
		if err != nil && !errors.Is(err, ErrMalformedReply) {
			t.Fatalf("error %v is not ErrMalformedReply", err)
		}
		if len(acks) > len(b)/(nlmsgHdrLen+4) {
			t.Fatalf("%d acks from %d bytes", len(acks), len(b))
		}
	})
}
