package linetab

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// build compiles testdata/crash for arch as the device binary is linked
// (-trimpath, -s -w) and returns its bytes and path.
func build(t *testing.T, arch string) ([]byte, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "crash-"+arch)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/crash")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOARM=7")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin, out
}

// crash runs a crash binary in a mode and returns its traceback.
func crash(t *testing.T, path, mode string) string {
	t.Helper()
	cmd := exec.Command(path, mode)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("%s %s: %v, want a panic's exit 2\n%s", path, mode, err, stderr.Bytes())
	}
	return stderr.String()
}

// positions returns a traceback's position lines (those after a frame).
func positions(trace string) []string {
	var out []string
	for _, l := range strings.Split(trace, "\n") {
		if strings.HasPrefix(l, "\t") {
			out = append(out, l)
		}
	}
	return out
}

// frames returns a traceback's frames as function names and positions,
// arguments left out (they print pointers that differ between runs).
func frames(trace string) []string {
	var out []string
	for _, l := range strings.Split(trace, "\n") {
		if strings.HasPrefix(l, "\t") {
			out = append(out, l)
		} else if strings.HasSuffix(l, ")") || strings.HasPrefix(l, "created by ") {
			out = append(out, frameName(l))
		}
	}
	return out
}

// TestSymbolizeRestoresFrames runs the same program stripped and not:
// the stripped one's tracebacks print physical frames only, "?:0" for
// their positions with the same pc offsets and no argument values, and
// Symbolize with the
// unstripped copy gives back exactly the frames and positions the
// unstripped one printed: inlined frames, a fault at a function's entry,
// a generic function and "created by" included.
func TestSymbolizeRestoresFrames(t *testing.T) {
	debug, debugPath := build(t, "amd64")
	stripped := filepath.Join(t.TempDir(), "crash")
	st, err := StripFile(debugPath, stripped)
	if err != nil {
		t.Fatal(err)
	}
	if st.Funcs == 0 || st.Tables == 0 || st.FileTab == 0 || st.Inline == 0 || st.Args == 0 {
		t.Fatalf("Strip = %+v, want functions, tables, file names, inlining trees and argument layouts removed", st)
	}
	sym, err := NewSymbolizer(debug)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"map", "nil", "generic", "goroutine"} {
		want := crash(t, debugPath, mode)
		got := crash(t, stripped, mode)
		if strings.Contains(got, ".go:") || !strings.Contains(got, "\t?:0 +0x") || strings.Contains(got, "(...)") || strings.Contains(got, "(0x") {
			t.Errorf("%s: the stripped binary printed positions, inlined frames or arguments:\n%s", mode, got)
		}
		var out bytes.Buffer
		n, err := sym.Symbolize(strings.NewReader(got), &out)
		if err != nil {
			t.Fatal(err)
		}
		wantFrames, gotFrames := frames(want), frames(out.String())
		if n != len(positions(want)) || strings.Join(gotFrames, "\n") != strings.Join(wantFrames, "\n") {
			t.Errorf("%s: %d positions filled, want %d; symbolized:\n%s\nunstripped:\n%s", mode, n, len(positions(want)), out.String(), want)
		}
	}
}

// TestSymbolizeInlinedFramesPrinted: a traceback that printed its inlined
// frames (a binary whose inlining trees were kept) gets each of them its
// position, none added twice.
func TestSymbolizeInlinedFramesPrinted(t *testing.T) {
	debug, debugPath := build(t, "amd64")
	want := crash(t, debugPath, "map")
	sym, err := NewSymbolizer(debug)
	if err != nil {
		t.Fatal(err)
	}
	// The unstripped traceback with its positions taken out, offsets kept.
	var in []string
	for _, l := range strings.Split(want, "\n") {
		if strings.HasPrefix(l, "\t") {
			_, off, _ := strings.Cut(l, " +0x")
			l = "\t?:0"
			if off != "" {
				l += " +0x" + off
			}
		}
		in = append(in, l)
	}
	var out bytes.Buffer
	if _, err := sym.Symbolize(strings.NewReader(strings.Join(in, "\n")), &out); err != nil {
		t.Fatal(err)
	}
	if strings.Join(frames(out.String()), "\n") != strings.Join(frames(want), "\n") {
		t.Errorf("symbolized:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestSymbolizeLeavesOthers: text that is not a stripped traceback of
// this binary passes through unchanged.
func TestSymbolizeLeavesOthers(t *testing.T) {
	debug, _ := build(t, "amd64")
	sym, err := NewSymbolizer(debug)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{
		"",
		"no traceback here\n",
		"goroutine 1 [running]:\nmain.unknown()\n\t?:0 +0x10\n", // a name this binary lacks
		"main.deep(0x0?)\n\tcrash/main.go:22 +0x35\n",           // not stripped
		"\t?:0 +0x10\n", // a position with no frame
		"main.(*box).set(...)\n\t?:0\nmain.twice(...)\n\t?:0\n\n", // inlined frames without their function
	} {
		var out bytes.Buffer
		n, err := sym.Symbolize(strings.NewReader(in), &out)
		if err != nil || out.String() != in || n != 0 {
			t.Errorf("Symbolize(%q) = %q, %d, %v; want it unchanged", in, out.String(), n, err)
		}
	}
}

// TestStripTwice: Strip leaves its input as it was and .text and .rodata
// byte for byte, makes the file shorter, and a stripped binary strips to
// itself.
func TestStripTwice(t *testing.T) {
	bin, _ := build(t, "amd64")
	orig := bytes.Clone(bin)
	out, st, err := Strip(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bin, orig) {
		t.Error("Strip changed its input")
	}
	tab, err := parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := f.Section(".text").Offset, tab.sectOff // .text, .rodata: code and data stay
	if !bytes.Equal(out[lo:hi], orig[lo:hi]) {
		t.Error("Strip changed bytes of .text or .rodata")
	}
	if st.Saved <= 0 || len(out) != len(orig)-st.Saved {
		t.Errorf("Strip saved %d bytes: %d -> %d", st.Saved, len(orig), len(out))
	}
	again, st, err := Strip(out)
	if err != nil || st != (Stats{}) || !bytes.Equal(again, out) {
		t.Errorf("second Strip = %+v, %v, changed %v; want nothing to do", st, err, !bytes.Equal(again, out))
	}
}

// TestForeignArches: the arm64 and 32-bit arm layouts strip, and the
// symbolizer finds their moduledata (text at the .text section).
func TestForeignArches(t *testing.T) {
	for _, arch := range []string{"arm64", "arm"} {
		debug, _ := build(t, arch)
		out, st, err := Strip(debug)
		if err != nil || st.Funcs == 0 || st.Saved == 0 {
			t.Fatalf("%s: Strip = %+v, %v", arch, st, err)
		}
		if _, err := load(out); err != nil {
			t.Fatalf("%s: the stripped binary: %v", arch, err)
		}
		im, err := load(debug)
		if err != nil {
			t.Fatalf("%s: %v", arch, err)
		}
		f, err := elf.NewFile(bytes.NewReader(debug))
		if err != nil {
			t.Fatal(err)
		}
		if text := f.Section(".text").Addr; im.text != text {
			t.Errorf("%s: moduledata text %#x, want .text at %#x", arch, im.text, text)
		}
		if file, line := im.position(mustFn(t, im, "main.main"), im.entry(im.index(t, "main.main")), im.entry(im.index(t, "main.main"))); !strings.HasSuffix(file, "crash/main.go") || line == 0 {
			t.Errorf("%s: main.main at %s:%d, want crash/main.go", arch, file, line)
		}
	}
}

func (im *image) index(t *testing.T, name string) int {
	for i := range im.nfunc {
		f, _ := im.fn(i)
		if im.name(binary.LittleEndian.Uint32(f[funcNameOff:])) == name {
			return i
		}
	}
	t.Fatalf("no function %s", name)
	return 0
}

func mustFn(t *testing.T, im *image, name string) []byte {
	f, _ := im.fn(im.index(t, name))
	return f
}

// TestStripRefusesBadInput: what is not a readable Go pclntab gets an
// error wrapping ErrFormat, and the input is left as it was.
func TestStripRefusesBadInput(t *testing.T) {
	good, _ := build(t, "amd64")
	tab, err := parse(good)
	if err != nil {
		t.Fatal(err)
	}
	sect := int(tab.sectOff)
	funcs := sect + len(tab.pcln) - len(tab.funcs)
	le := binary.LittleEndian
	corrupt := func(edit func(b []byte)) []byte {
		b := bytes.Clone(good)
		edit(b)
		return b
	}
	for _, c := range []struct {
		name string
		bin  []byte
		// symbolizes: the symbolizer takes it, its reads being checked
		// at each pc instead of all at once.
		symbolizes bool
	}{
		{"another Go release", corrupt(func(b []byte) {
			f, err := elf.NewFile(bytes.NewReader(b))
			require.NoError(t, err)
			bi := f.Section(".go.buildinfo")
			sec := b[bi.Offset : bi.Offset+bi.Size]
			i := bytes.Index(sec, []byte(runtime.Version()))
			require.GreaterOrEqual(t, i, 0, "the Go version in .go.buildinfo")
			copy(sec[i:], "go1.99")
		}), false},
		{"empty", nil, false},
		{"not ELF", []byte("#!/bin/sh\necho hi\n"), false},
		{"truncated ELF", good[:4096], false},
		{"bad magic", corrupt(func(b []byte) { b[sect] ^= 1 }), false},
		{"pointer size 3", corrupt(func(b []byte) { b[sect+7] = 3 }), false},
		{"parts out of order", corrupt(func(b []byte) { le.PutUint64(b[sect+8+8*3:], uint64(len(tab.pcln))) }), false},
		{"too many functions", corrupt(func(b []byte) { le.PutUint64(b[sect+8:], 1<<40) }), false},
		{"function past the end", corrupt(func(b []byte) { le.PutUint32(b[funcs+4:], uint32(len(tab.funcs))) }), false},
		{"table past pctab", corrupt(func(b []byte) {
			f := funcs + int(le.Uint32(b[funcs+4:]))
			le.PutUint32(b[f+funcPCSP:], uint32(len(tab.pctab)-1))
			b[sect+len(tab.pcln)-len(tab.funcs)-1] = 0x80 // a varint that never ends
		}), true},
	} {
		orig := bytes.Clone(c.bin)
		stripped, _, err := Strip(c.bin)
		if !errors.Is(err, ErrFormat) || stripped != nil {
			t.Errorf("%s: Strip error %v, want ErrFormat", c.name, err)
		}
		if c.name == "another Go release" && (err == nil || !strings.Contains(err.Error(), "built by go1.99")) {
			t.Errorf("%s: Strip error %v, want it to name the release", c.name, err)
		}
		if !bytes.Equal(c.bin, orig) {
			t.Errorf("%s: Strip changed the input on error", c.name)
		}
		if _, err := NewSymbolizer(c.bin); !c.symbolizes && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: NewSymbolizer error %v, want ErrFormat", c.name, err)
		}
	}
}
