package logs

import "bytes"

// framing is the state of split for one connection.
type framing struct {
	nul     bool // the peer ends text with NUL bytes (glibc's syslog() on a stream socket)
	cutText bool // the last message was text cut at the end of a read
}

// split cuts the pending bytes b of a pv-ctrl-log connection into messages
// and calls f for each; it returns how many bytes were used. The rules:
//   - a zero first byte starts a binary message (codes 0 and 256 begin with
//     a zero byte in either byte order): it is 8 + len bytes long, a length
//     above MaxMessage is an error, and an unknown code means the zero byte
//     was the NUL after an empty text message, which is skipped;
//   - text ends at a NUL byte (glibc's syslog() on a stream socket;
//     st.nul records that the peer does this), at MaxMessage bytes, at eof,
//     or, for a peer that never sent a NUL, when the read that delivered it
//     ended (end): upstream reads one message per read();
//   - a NUL right after text cut at the end of a read is that text's
//     terminator (its sender writes the NUL separately, or it came late),
//     not the start of a binary message.
//
// Bytes that do not yet make a message are left for the next call; at eof
// an incomplete binary message is an error.
func split(b []byte, st *framing, end, eof bool, f func([]byte)) (int, error) {
	used := 0
	for used < len(b) {
		p := b[used:]
		if p[0] == 0 && st.cutText {
			st.nul, st.cutText = true, false
			used++
			continue
		}
		st.cutText = false
		if p[0] == 0 {
			if len(p) >= 4 && hostInt32(p) != CodeLegacy && hostInt32(p) != CodeCmd {
				used++ // the terminator of an empty text message
				continue
			}
			if len(p) < 8 {
				return used, truncated(eof, len(p))
			}
			n := hostInt32(p[4:])
			if n < 0 || n > MaxMessage {
				return used, badf(ErrMalformed, "binary message length %d", n)
			}
			if len(p) < 8+int(n) {
				return used, truncated(eof, len(p))
			}
			f(p[:8+n])
			used += 8 + int(n)
			continue
		}
		i := bytes.IndexByte(p, 0)
		switch {
		case i >= 0:
			st.nul = true
			f(p[:i])
			used += i + 1
		case len(p) >= MaxMessage:
			f(p[:MaxMessage])
			used += MaxMessage
		case eof || end && !st.nul:
			f(p)
			used = len(b)
			st.cutText = true
		default:
			return used, nil
		}
	}
	return used, nil
}

func truncated(eof bool, n int) error {
	if eof {
		return badf(ErrMalformed, "binary message cut after %d bytes", n)
	}
	return nil
}
