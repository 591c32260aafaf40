package tcpdial

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// appendQuery appends a query for the qtype records of name (fully
// qualified, checked by validName) with recursion desired and an EDNS(0)
// record offering maxUDP bytes.
func appendQuery(b []byte, id uint16, name string, qtype uint16) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 1, 0)       // RD
	b = append(b, 0, 1, 0, 0) // one question, no answers
	b = append(b, 0, 0, 0, 1) // no authority, one additional: OPT
	for _, l := range strings.Split(name[:len(name)-1], ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, classIN)
	b = append(b, 0) // OPT: root name, type, payload size, TTL 0, no data
	b = binary.BigEndian.AppendUint16(b, typeOPT)
	b = binary.BigEndian.AppendUint16(b, maxUDP)
	return append(b, 0, 0, 0, 0, 0, 0)
}

// parseAnswer reads msg as the answer to query id for the qtype records
// of name. ours is false when msg answers another query (a late answer to
// an earlier one, or a spoof that guessed wrong). Then addrs are the
// records of qtype in class IN of the answer section (the servers follow
// CNAMEs), err ErrNoSuchHost for NXDOMAIN, errServer for another error
// code, errTruncated for a truncated answer without them.
func parseAnswer(msg []byte, id uint16, name string, qtype uint16) (addrs []netip.Addr, err error, ours bool) {
	if len(msg) < 12 || binary.BigEndian.Uint16(msg) != id || msg[2]&0x80 == 0 {
		return nil, nil, false
	}
	qd, an := binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:])
	if qd != 1 {
		return nil, nil, false
	}
	qname, off, ok := readName(msg, 12)
	if !ok || off+4 > len(msg) || !strings.EqualFold(qname, name) ||
		binary.BigEndian.Uint16(msg[off:]) != qtype || binary.BigEndian.Uint16(msg[off+2:]) != classIN {
		return nil, nil, false
	}
	off += 4
	switch msg[3] & 0x0f {
	case 0:
	case 3:
		return nil, ErrNoSuchHost, true
	default:
		return nil, errServer, true
	}
	size := 4
	if qtype == typeAAAA {
		size = 16
	}
	for range an {
		if off, ok = skipName(msg, off); !ok || off+10 > len(msg) {
			break
		}
		typ, class := binary.BigEndian.Uint16(msg[off:]), binary.BigEndian.Uint16(msg[off+2:])
		n := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+n > len(msg) {
			ok = false
			break
		}
		if typ == qtype && class == classIN && n == size {
			a, _ := netip.AddrFromSlice(msg[off : off+n])
			addrs = append(addrs, a)
		}
		off += n
	}
	switch {
	case len(addrs) > 0:
		return addrs, nil, true
	case msg[2]&0x02 != 0:
		return nil, errTruncated, true
	case !ok:
		return nil, errMalformed, true
	}
	return nil, nil, true
}

// readName reads the name at off (RFC 1035 4.1.4: labels, or a pointer
// back to them), lower case and fully qualified, and returns it with the
// offset after it where it is written.
func readName(msg []byte, off int) (string, int, bool) {
	var b []byte
	end := -1
	for jumps := 0; off < len(msg); {
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			if len(b) == 0 {
				b = append(b, '.')
			}
			return strings.ToLower(string(b)), end, len(b) <= 254
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) || jumps == 10 {
				return "", 0, false
			}
			if end < 0 {
				end = off + 2
			}
			off = (l&0x3f)<<8 | int(msg[off+1])
			jumps++
		case l&0xc0 != 0 || off+1+l > len(msg):
			return "", 0, false
		default:
			b = append(append(b, msg[off+1:off+1+l]...), '.')
			off += 1 + l
		}
	}
	return "", 0, false
}

// skipName returns the offset after the name at off.
func skipName(msg []byte, off int) (int, bool) {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+1 < len(msg)
		case l&0xc0 != 0:
			return 0, false
		}
		off += 1 + l
	}
	return 0, false
}
