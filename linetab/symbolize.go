package linetab

import (
	"bufio"
	"encoding/binary"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Symbolizer puts positions and inlined frames back into tracebacks of a
// stripped binary, from the same build before Strip (same code
// addresses, tables intact).
type Symbolizer struct {
	im     *image
	byName map[string]int // function name as a traceback prints it → index
}

// NewSymbolizer reads the unstripped binary debug.
func NewSymbolizer(debug []byte) (*Symbolizer, error) {
	im, err := load(debug)
	if err != nil {
		return nil, err
	}
	s := &Symbolizer{im: im, byName: make(map[string]int, im.nfunc)}
	for i := range im.nfunc {
		f, _ := im.fn(i)
		name := printName(im.name(binary.LittleEndian.Uint32(f[funcNameOff:])))
		if _, dup := s.byName[name]; !dup {
			s.byName[name] = i
		}
	}
	return s, nil
}

// printName is a function's name as the runtime prints it in a traceback
// (runtime.funcNameForPrint): type arguments shown as [...], and
// runtime.gopanic as panic.
func printName(name string) string {
	if name == "runtime.gopanic" {
		return "panic"
	}
	i := strings.IndexByte(name, '[')
	j := strings.LastIndexByte(name, ']')
	if i < 0 || j < i {
		return name
	}
	return name[:i] + "[...]" + name[j+1:]
}

// Symbolize copies the traceback text r to w, replacing each "?:0" of a
// stripped frame with the frame's file:line and putting the calls inlined
// at its pc back before it as "pkg.f(...)" frames. A frame's position
// line follows its name line ("pkg.F(args)" or "created by pkg.F in
// goroutine N"); inlined frames a traceback printed have no "+0x" offset
// and share the next frame's pc. A
// "[signal ... pc=0x...]" line marks the frame at that pc as faulting, so
// its own pc is looked up instead of the call before a return address.
// Frames it cannot place (an unknown name, another binary) stay as they
// were. It returns how many positions it filled in.
func (s *Symbolizer) Symbolize(r io.Reader, w io.Writer) (int, error) {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	out := bufio.NewWriter(w)
	// pending holds name and position lines of frames not yet placed:
	// pairs of inlined frames, then maybe a line that may be a name.
	var pending []string
	var trapPC uint64
	filled := 0
	var werr error // bufio's first write error, as Flush would return it
	emit := func(l string) {
		if werr == nil {
			_, werr = out.WriteString(l + "\n")
		}
	}
	flush := func() {
		for _, l := range pending {
			emit(l)
		}
		pending = pending[:0]
	}
	for in.Scan() {
		line := in.Text()
		if pc, ok := signalPC(line); ok {
			trapPC = pc
		}
		if strings.HasPrefix(line, "\t?:0") && len(pending)%2 == 1 {
			pending = append(pending, line)
			if off, ok := pcOffset(line); ok {
				var n int
				pending, n = s.fill(pending, off, trapPC)
				filled += n
				flush()
			}
			continue
		}
		if len(pending)%2 == 0 && len(pending) > 0 && !strings.HasPrefix(line, "\t") {
			pending = append(pending, line) // maybe the next frame's name
			continue
		}
		// Not a frame's position: the line before was no name line, and
		// pairs without an offset end in a frame at its function's entry.
		if len(pending)%2 == 1 {
			last := pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			if len(pending) > 0 {
				pending = s.fillAtEntry(pending, &filled)
			}
			flush()
			pending = append(pending, last)
		} else if len(pending) > 0 {
			pending = s.fillAtEntry(pending, &filled)
		}
		flush()
		if strings.HasPrefix(line, "\t") {
			emit(line)
		} else {
			pending = append(pending, line)
		}
	}
	if len(pending)%2 == 0 && len(pending) > 0 {
		pending = s.fillAtEntry(pending, &filled)
	}
	flush()
	if err := in.Err(); err != nil {
		return filled, err
	}
	if werr != nil {
		return filled, werr
	}
	return filled, out.Flush()
}

// fill places one group (name and position line pairs, the last one with
// the pc offset off) and returns it with positions filled in and the
// inlined frames the traceback did not print put back, and how many
// positions it filled.
func (s *Symbolizer) fill(group []string, off, trapPC uint64) ([]string, int) {
	phys, ok := s.byName[frameName(group[len(group)-2])]
	if !ok {
		return group, 0
	}
	entry := s.im.entry(phys)
	pc := entry + off
	if off > 0 && s.im.text+pc != trapPC {
		pc-- // a return address: the call is the instruction before it
	}
	frames := s.im.frames(phys, pc)
	// Frames before the first one inlined here are of other functions,
	// stopped at their entry (no offset printed either): the top of a stack.
	start := 0
	for start+2 < len(group) && !slices.ContainsFunc(frames, func(f frame) bool {
		return printName(f.name) == frameName(group[start])
	}) {
		start += 2
	}
	var out []string
	filled := 0
	if start > 0 {
		out, filled = s.fill(group[:start:start], 0, trapPC) // capped: appends copy
	}
	k := 0
	for i := start; i+1 < len(group); i += 2 {
		j := k
		for j < len(frames) && printName(frames[j].name) != frameName(group[i]) {
			j++
		}
		if j == len(frames) {
			return append(out, group[i:]...), filled
		}
		// Frames k..j-1 were not printed: inlined calls (a stripped binary
		// has no inlining trees) and runtime frames tracebacks hide.
		for ; k < j && !strings.HasPrefix(group[i], "created by "); k++ {
			if shown(frames[k].name) && frames[k].file != "?" {
				out = append(out, printName(frames[k].name)+"(...)", position(frames[k]))
				filled++
			}
		}
		pos := group[i+1]
		if frames[j].file != "?" {
			pos = position(frames[j]) + strings.TrimPrefix(pos, "\t?:0")
			filled++
		}
		out = append(out, group[i], pos)
		k = j + 1
	}
	return out, filled
}

// fillAtEntry places a group whose last frame is at its function's entry
// (no offset printed), adding what it filled to *filled.
func (s *Symbolizer) fillAtEntry(group []string, filled *int) []string {
	out, n := s.fill(group, 0, 0)
	*filled += n
	return out
}

// position is a frame's position line as a traceback prints it.
func position(f frame) string {
	return "\t" + f.file + ":" + strconv.Itoa(int(f.line))
}

// shown says whether a traceback prints a frame of this function
// (runtime.showfuncinfo): a qualified name, outside the runtime unless
// exported.
func shown(name string) bool {
	rest, rt := strings.CutPrefix(name, "runtime.")
	if rt {
		return rest != "" && 'A' <= rest[0] && rest[0] <= 'Z'
	}
	return strings.Contains(name, ".")
}

// frameName returns the function a traceback's name line names.
func frameName(line string) string {
	if rest, ok := strings.CutPrefix(line, "created by "); ok {
		name, _, _ := strings.Cut(rest, " in goroutine ")
		return name
	}
	if i := strings.LastIndexByte(line, '('); i > 0 {
		return line[:i]
	}
	return line
}

// pcOffset returns the "+0x..." offset of a position line; there is none
// for an inlined frame or a frame at its function's entry.
func pcOffset(line string) (uint64, bool) {
	_, rest, ok := strings.Cut(line, " +0x")
	if !ok {
		return 0, false
	}
	hex, _, _ := strings.Cut(rest, " ")
	v, err := strconv.ParseUint(hex, 16, 64)
	return v, err == nil
}

// signalPC returns the pc of a "[signal SIGSEGV: ... pc=0x46b1a2]" line.
func signalPC(line string) (uint64, bool) {
	if !strings.HasPrefix(line, "[signal ") {
		return 0, false
	}
	_, rest, ok := strings.Cut(line, " pc=0x")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 16, 64)
	return v, err == nil
}
