// Package gz writes gzip (RFC 1952) with a small deflate (RFC 1951)
// encoder: LZ77 over a 32 KiB window with hash chains, in blocks of
// dynamic Huffman codes.
//
// It stands for compress/gzip's writer in the device binary, where the
// log server gzips rotated files: that writer's set-up formats an error
// with package fmt, which would link fmt's printer and package reflect
// (README "Size budget"). BenchmarkCompress compares the two on log
// text.
package gz

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
)

const (
	windowSize = 1 << 15 // the largest distance deflate can code
	windowMask = windowSize - 1
	minMatch   = 4 // the shortest match coded: the hash covers 4 bytes
	maxMatch   = 258
	hashBits   = 15
	maxChain   = 64 // candidates tried per position
)

// Compress writes src to dst as one gzip member (no name, no time, OS
// "unknown", as compress/gzip writes by default) and returns the bytes
// read from src.
func Compress(dst io.Writer, src io.Reader) (int64, error) {
	e := &encoder{out: bitWriter{w: dst}}
	e.out.bytes = append(e.out.bytes, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff)
	n, err := e.encode(src)
	if err != nil {
		return n, err
	}
	e.out.block(e.tokens, true)
	e.out.align()
	e.out.bytes = binary.LittleEndian.AppendUint32(e.out.bytes, e.crc)
	e.out.bytes = binary.LittleEndian.AppendUint32(e.out.bytes, uint32(n))
	return n, e.out.flush()
}

// encoder holds the window: buf is history and lookahead, head the last
// position (+1, 0: none) of each hash, prev the one before each position.
// tokens are the block being gathered: literals (a byte) and matches
// (matchFlag | (length-3)<<16 | (distance-1)).
type encoder struct {
	out    bitWriter
	crc    uint32
	buf    []byte
	tokens []uint32
	head   [1 << hashBits]int32
	prev   [windowSize]int32
}

const (
	matchFlag   = 1 << 31
	blockTokens = 1 << 14 // tokens per block
)

func (e *encoder) token(t uint32) {
	e.tokens = append(e.tokens, t)
	if len(e.tokens) == blockTokens {
		e.out.block(e.tokens, false)
		e.tokens = e.tokens[:0]
	}
}

// encode codes all of src: it fills buf (two windows), codes up to the
// last maxMatch bytes (all at the end of src), then slides one window.
func (e *encoder) encode(src io.Reader) (int64, error) {
	e.buf = make([]byte, 0, 2*windowSize)
	e.tokens = make([]uint32, 0, blockTokens)
	var total int64
	pos := 0
	for eof := false; !eof; {
		n, err := io.ReadFull(src, e.buf[len(e.buf):cap(e.buf)])
		e.crc = crc32.Update(e.crc, crc32.IEEETable, e.buf[len(e.buf):len(e.buf)+n])
		e.buf = e.buf[:len(e.buf)+n]
		total += int64(n)
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			eof = true
		default:
			return total, err
		}
		for pos < len(e.buf) && (eof || pos+maxMatch <= len(e.buf)) {
			length, dist := e.longest(pos)
			if length < minMatch {
				e.token(uint32(e.buf[pos]))
				e.insert(pos)
				pos++
				continue
			}
			e.token(matchFlag | uint32(length-3)<<16 | uint32(dist-1))
			for end := pos + length; pos < end; pos++ {
				e.insert(pos)
			}
		}
		if err := e.out.err; err != nil {
			return total, err // a write failed: stop reading
		}
		if !eof && pos >= windowSize {
			e.slide()
			pos -= windowSize
		}
	}
	return total, nil
}

// slide drops the older window: positions move down by windowSize, so
// prev, indexed by position modulo windowSize, stays in place.
func (e *encoder) slide() {
	copy(e.buf, e.buf[windowSize:])
	e.buf = e.buf[:len(e.buf)-windowSize]
	down := func(v int32) int32 { return max(v-windowSize, 0) }
	for i, v := range e.head {
		e.head[i] = down(v)
	}
	for i, v := range e.prev {
		e.prev[i] = down(v)
	}
}

func hash(b []byte) uint32 {
	return binary.LittleEndian.Uint32(b) * 0x1e35a7bd >> (32 - hashBits)
}

func (e *encoder) insert(pos int) {
	if pos+minMatch > len(e.buf) {
		return
	}
	h := hash(e.buf[pos:])
	e.prev[pos&windowMask] = e.head[h]
	e.head[h] = int32(pos + 1)
}

// longest finds the longest earlier match of the bytes at pos within the
// window: its length (0 if none) and distance.
func (e *encoder) longest(pos int) (length, dist int) {
	if pos+minMatch > len(e.buf) {
		return 0, 0
	}
	want := e.buf[pos:min(pos+maxMatch, len(e.buf))]
	cand := int(e.head[hash(want)]) - 1
	for chain := maxChain; cand >= 0 && pos-cand <= windowSize && chain > 0; chain-- {
		if e.buf[cand+length] == want[length] || length == 0 {
			n := 0
			for n < len(want) && e.buf[cand+n] == want[n] {
				n++
			}
			if n > length {
				length, dist = n, pos-cand
				if n == len(want) {
					break
				}
			}
		}
		next := int(e.prev[cand&windowMask]) - 1
		if next >= cand {
			break // a slot reused by a newer position: the chain ends
		}
		cand = next
	}
	return length, dist
}

// bitWriter packs codes least significant bit first and writes them in
// chunks.
type bitWriter struct {
	w     io.Writer
	bits  uint64
	n     uint
	bytes []byte
	err   error
}

func (b *bitWriter) put(v uint32, n uint) {
	b.bits |= uint64(v) << b.n
	b.n += n
	for b.n >= 8 {
		b.bytes = append(b.bytes, byte(b.bits))
		b.bits >>= 8
		b.n -= 8
	}
	if len(b.bytes) >= 1<<14 && b.err == nil {
		b.err = b.flush()
	}
}

func (b *bitWriter) align() {
	if b.n > 0 {
		b.put(0, 8-b.n)
	}
}

func (b *bitWriter) flush() error {
	if b.err != nil {
		return b.err
	}
	_, err := b.w.Write(b.bytes)
	b.bytes = b.bytes[:0]
	return err
}

// The bases and extra bits of the length symbols 257-285 and of the
// distance codes 0-29 (RFC 1951 3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// clOrder is the order of the code length code's lengths in a block
	// header (RFC 1951 3.2.7).
	clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// code returns the last index of base whose value is at most v.
func code(base []uint16, v int) int {
	i := len(base) - 1
	for int(base[i]) > v {
		i--
	}
	return i
}

// split returns a match token's length and distance codes.
func split(t uint32) (length, dist, lc, dc int) {
	length, dist = int(t>>16&0x7fff)+3, int(t&0xffff)+1
	return length, dist, code(lengthBase[:], length), code(distBase[:], dist)
}

// block writes tokens (and the end of block) as one block with the
// Huffman codes of their frequencies (RFC 1951 3.2.7). The code lengths
// are sent without run-length coding: a few dozen bytes per block.
func (b *bitWriter) block(tokens []uint32, final bool) {
	var litFreq [286]int
	var distFreq [30]int
	litFreq[256] = 1
	for _, t := range tokens {
		if t&matchFlag == 0 {
			litFreq[t]++
			continue
		}
		_, _, lc, dc := split(t)
		litFreq[257+lc]++
		distFreq[dc]++
	}
	lit := newCode(litFreq[:], 15)
	dist := newCode(distFreq[:], 15)
	nlit, ndist := max(used(lit.lens), 257), max(used(dist.lens), 1)
	lens := append(lit.lens[:nlit:nlit], dist.lens[:ndist]...)
	var clFreq [19]int
	for _, l := range lens {
		clFreq[l]++
	}
	cl := newCode(clFreq[:], 7)
	ncl := 19
	for ncl > 4 && cl.lens[clOrder[ncl-1]] == 0 {
		ncl--
	}
	if final {
		b.put(1, 1)
	} else {
		b.put(0, 1)
	}
	b.put(2, 2) // BTYPE 10: dynamic Huffman codes
	b.put(uint32(nlit-257), 5)
	b.put(uint32(ndist-1), 5)
	b.put(uint32(ncl-4), 4)
	for _, s := range clOrder[:ncl] {
		b.put(uint32(cl.lens[s]), 3)
	}
	for _, l := range lens {
		cl.write(b, int(l))
	}
	for _, t := range tokens {
		if t&matchFlag == 0 {
			lit.write(b, int(t))
			continue
		}
		length, d, lc, dc := split(t)
		lit.write(b, 257+lc)
		b.put(uint32(length-int(lengthBase[lc])), uint(lengthExtra[lc]))
		dist.write(b, dc)
		b.put(uint32(d-int(distBase[dc])), uint(distExtra[dc]))
	}
	lit.write(b, 256)
}

// used is the count of lens up to the last non-zero one.
func used(lens []uint8) int {
	n := len(lens)
	for n > 0 && lens[n-1] == 0 {
		n--
	}
	return n
}

// huffmanCode is a canonical Huffman code: each symbol's length and its
// code, bit-reversed as deflate sends codes most significant bit first.
type huffmanCode struct {
	lens  []uint8
	codes []uint16
}

func (c *huffmanCode) write(b *bitWriter, s int) { b.put(uint32(c.codes[s]), uint(c.lens[s])) }

// newCode builds the code of freq with lengths of at most limit bits.
// Two symbols at least get a code (a decoder wants a complete code):
// symbols 0 and 1 stand in for missing ones. Lengths over the limit are
// avoided by halving the frequencies until the tree is shallow enough.
func newCode(freq []int, limit int) *huffmanCode {
	w := make([]int, len(freq))
	copy(w, freq)
	nonZero := 0
	for _, x := range w {
		if x > 0 {
			nonZero++
		}
	}
	if nonZero < 2 {
		w[0], w[1] = max(w[0], 1), max(w[1], 1)
	}
	c := &huffmanCode{lens: make([]uint8, len(freq)), codes: make([]uint16, len(freq))}
	for !c.tree(w, limit) {
		for i := range w {
			if w[i] > 0 {
				w[i] = (w[i] + 1) / 2
			}
		}
	}
	// Canonical codes (RFC 1951 3.2.2).
	var count [16]uint16
	for _, l := range c.lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	for l, code := 1, uint16(0); l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range c.lens {
		if l == 0 {
			continue
		}
		v := next[l]
		next[l]++
		var r uint16
		for i := uint8(0); i < l; i++ {
			r = r<<1 | v>>i&1
		}
		c.codes[s] = r
	}
	return c
}

// tree sets c.lens to the depths of the Huffman tree of the weights w,
// merging the two lightest nodes from two queues (the leaves sorted by
// weight, and the merged nodes, which come out in order); it reports
// whether no depth is over limit.
func (c *huffmanCode) tree(w []int, limit int) bool {
	var leaves []int
	for s, x := range w {
		if x > 0 {
			leaves = append(leaves, s)
		}
	}
	slices.SortStableFunc(leaves, func(a, b int) int { return w[a] - w[b] })
	n := len(leaves)
	weight := make([]int, n, 2*n)
	parent := make([]int, 2*n)
	for i, s := range leaves {
		weight[i] = w[s]
	}
	i, j := 0, n
	pick := func() int {
		if i < n && (j == len(weight) || weight[i] <= weight[j]) {
			i++
			return i - 1
		}
		j++
		return j - 1
	}
	for len(weight) < 2*n-1 {
		a, b := pick(), pick()
		parent[a], parent[b] = len(weight), len(weight)
		weight = append(weight, weight[a]+weight[b])
	}
	depth := make([]int, len(weight))
	for k := len(weight) - 2; k >= 0; k-- {
		depth[k] = depth[parent[k]] + 1
	}
	for k, s := range leaves {
		if depth[k] > limit {
			return false
		}
		c.lens[s] = uint8(depth[k])
	}
	return true
}
