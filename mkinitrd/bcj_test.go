package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pantavisor/mkinitrd/cpio"
)

// elfHeader is the 64-byte header of a little-endian ELF64 executable for
// machine m, without program or section headers: enough for debug/elf.
func elfHeader(m elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(elf.ET_EXEC))
	le.PutUint16(h[18:], uint16(m))
	le.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	le.PutUint16(h[52:], 64) // e_ehsize
	return h
}

// kernelDir makes a fetched kernel directory whose config holds lines.
func kernelDir(t *testing.T, lines ...string) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, kernelConfig), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return dir
}

// TestBCJFor: the filter is the binary's architecture's, and only when
// the kernel's config builds its decoder; every other case packs without
// one and says why.
func TestBCJFor(t *testing.T) {
	x86 := kernelDir(t, "CONFIG_RD_XZ=y", "CONFIG_XZ_DEC_X86=y", "# CONFIG_XZ_DEC_ARM is not set", "CONFIG_XZ_DEC_BCJ=y")
	arm64 := kernelDir(t, "CONFIG_XZ_DEC_ARM64=y")
	none := kernelDir(t, "# CONFIG_XZ_DEC_X86 is not set", "CONFIG_XZ_DEC_X86=m") // =m is no decoder at boot
	for _, c := range []struct {
		name   string
		bin    []byte
		kernel string
		want   string
	}{
		{"amd64, decoder built", elfHeader(elf.EM_X86_64), x86, "x86"},
		{"386, decoder built", elfHeader(elf.EM_386), x86, "x86"},
		{"arm64, decoder built", elfHeader(elf.EM_AARCH64), arm64, "arm64"},
		{"arm64, only x86's built (Linux before 6.12)", elfHeader(elf.EM_AARCH64), x86, ""},
		{"amd64, decoder not set", elfHeader(elf.EM_X86_64), none, ""},
		{"amd64, no -kernel", elfHeader(elf.EM_X86_64), "", ""},
		{"amd64, no config", elfHeader(elf.EM_X86_64), t.TempDir(), ""},
		{"no filter for the machine", elfHeader(elf.EM_MIPS), x86, ""},
		{"not ELF", []byte("#!/bin/sh\n"), x86, ""},
	} {
		got, note, err := bcjFor(c.bin, c.kernel)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
		assert.True(t, strings.HasPrefix(note, "xz with"), "%s: note %q", c.name, note)
	}
	bad := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(bad, kernelConfig), 0o755))
	_, _, err := bcjFor(elfHeader(elf.EM_X86_64), bad)
	assert.Error(t, err, "a config that cannot be read")
}

// TestInitramfsBCJ: mkinitrd packs with the filter bcjFor picks and says
// which on stderr.
func TestInitramfsBCJ(t *testing.T) {
	dir := t.TempDir()
	_, applets := fakeInputs(t, dir)
	bin := filepath.Join(dir, "amd64")
	require.NoError(t, os.WriteFile(bin, elfHeader(elf.EM_X86_64), 0o755))
	for _, c := range []struct{ kernel, want string }{
		{kernelDir(t, "CONFIG_XZ_DEC_X86=y"), "x86"},
		{kernelDir(t, "# CONFIG_XZ_DEC_X86 is not set"), ""},
	} {
		var stderr bytes.Buffer
		out := filepath.Join(dir, "initrd.img")
		require.NoError(t, run([]string{"-binary", bin, "-applets", applets, "-kernel", c.kernel, "-o", out}, &stderr))
		img, err := os.ReadFile(out)
		require.NoError(t, err)
		got, err := cpio.BCJOf(img)
		require.NoError(t, err)
		assert.Equal(t, c.want, got)
		assert.Contains(t, stderr.String(), "mkinitrd: xz with")
		es, err := cpio.Unpack(img, 64<<20)
		require.NoError(t, err)
		assert.NotEmpty(t, es)
	}
}
