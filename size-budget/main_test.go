package main

import (
	"bytes"
	"debug/elf"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSumByPackage(t *testing.T) {
	sections := []*elf.Section{
		{SectionHeader: elf.SectionHeader{Name: ""}},
		{SectionHeader: elf.SectionHeader{Name: ".text", Type: elf.SHT_PROGBITS}},
		{SectionHeader: elf.SectionHeader{Name: ".noptrbss", Type: elf.SHT_NOBITS}},
		{SectionHeader: elf.SectionHeader{Name: ".rodata", Type: elf.SHT_PROGBITS}},
	}
	syms := []elf.Symbol{
		{Name: "pantavisor/lib/kmod.(*Deps).Order", Size: 120, Section: 1},
		{Name: "pantavisor/lib/kmod.Name", Size: 80, Section: 1},
		{Name: "crypto/internal/fips140/drbg.memory", Size: 33554432, Section: 2},
		{Name: "type:*pantavisor/lib/kmod.Deps", Size: 40, Section: 3},
		{Name: "main.main", Size: 10, Section: 1},
		{Name: "undefined", Size: 10, Section: elf.SHN_UNDEF},
		{Name: "abs", Size: 10, Section: elf.SHN_ABS},
	}
	assert.Equal(t, map[string]int64{
		"pantavisor/lib/kmod":            200,
		"(type data and runtime tables)": 40,
		"main":                           10,
	}, sumByPackage(syms, sections), "NOBITS and special sections take no file space")
}

func TestSymbolPackage(t *testing.T) {
	for sym, want := range map[string]string{
		"pantavisor/lib/kmod.(*Deps).Order": "pantavisor/lib/kmod",
		"fmt.Println":                       "fmt",
		"go:func.*":                         "(type data and runtime tables)",
		"noDot":                             "(other)",
	} {
		assert.Equal(t, want, symbolPackage(sym), sym)
	}
}

func TestSymbolBytes(t *testing.T) {
	text := []byte("0123456789abcdef")
	sections := []*elf.Section{
		{SectionHeader: elf.SectionHeader{Name: ""}},
		{SectionHeader: elf.SectionHeader{Name: ".text", Type: elf.SHT_PROGBITS, Addr: 0x1000, Size: 16},
			ReaderAt: bytes.NewReader(text)},
		{SectionHeader: elf.SectionHeader{Name: ".bss", Type: elf.SHT_NOBITS, Addr: 0x2000, Size: 64}},
	}
	syms := []elf.Symbol{
		{Name: "pantavisor/lib/kmod.Name", Value: 0x1002, Size: 3, Section: 1},
		{Name: "fmt.Println", Value: 0x1005, Size: 2, Section: 1},
		{Name: "pantavisor/lib/kmod.(*Deps).Order", Value: 0x100c, Size: 4, Section: 1},
		{Name: "pantavisor/lib/kmod.buf", Value: 0x2000, Size: 64, Section: 2},
	}
	got, err := symbolBytes(syms, sections, map[string]bool{"pantavisor/lib/kmod": true})
	require.NoError(t, err)
	assert.Equal(t, map[string][]byte{"pantavisor/lib/kmod": []byte("234cdef")}, got,
		"the package's symbols in order, other packages and NOBITS left out")

	syms[0].Size = 20
	_, err = symbolBytes(syms, sections, map[string]bool{"pantavisor/lib/kmod": true})
	assert.ErrorContains(t, err, "outside its section")
}

func TestBanned(t *testing.T) {
	var out bytes.Buffer
	over := banned(&out, map[string]int64{"fmt": 240, "reflect": 30000, "flag": bannedSlack, "strconv": 50000})
	assert.Equal(t, []string{"nohub links reflect"}, over, "init-sized fmt and flag pass, reflect's 30 KB does not")
	assert.Contains(t, out.String(), "nohub links 30000 bytes of reflect")
}

func TestBannedSymbols(t *testing.T) {
	var out bytes.Buffer
	over := bannedSymbols(&out, []elf.Symbol{{Name: "net.(*conn).Read"}, {Name: "net.(*Resolver).lookupIP"}, {Name: "main.main"}})
	assert.Equal(t, []string{"full links net.(*Resolver)."}, over)
	assert.Contains(t, out.String(), "full links net.(*Resolver).lookupIP")
}
